use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__SECURE-app", secure = false)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
