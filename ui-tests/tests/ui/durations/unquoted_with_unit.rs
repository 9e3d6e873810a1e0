use sessions::Session;

#[derive(Session, Default)]
#[session(max_age = 14d)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
