use sessions::Session;

#[derive(Session, Default)]
#[session(max_age = 60 * 60)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
