use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__Http-app", http_only = false)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
