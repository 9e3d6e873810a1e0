use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__Secure-app", secure = false)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
