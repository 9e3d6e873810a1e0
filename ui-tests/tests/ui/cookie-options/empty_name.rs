use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
