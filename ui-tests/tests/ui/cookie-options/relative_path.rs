use sessions::Session;

#[derive(Session, Default)]
#[session(path = "admin")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
