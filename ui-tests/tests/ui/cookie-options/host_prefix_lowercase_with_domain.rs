use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__host-app", domain = "example.com")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
