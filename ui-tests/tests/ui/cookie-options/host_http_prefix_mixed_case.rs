use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__HOST-http-app", path = "/admin", http_only = false)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
