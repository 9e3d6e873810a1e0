use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[session(cookie = "app")]
    user_id: Option<u64>,
}

fn main() {}
