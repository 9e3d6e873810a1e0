use sessions::Session;

#[derive(Session, Default)]
#[session(max_age = 3600u64)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
