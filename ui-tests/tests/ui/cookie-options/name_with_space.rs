use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "my app")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
