use sessions::Session;

#[derive(Session, Default)]
#[session(max-age = "14d", http-only)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
