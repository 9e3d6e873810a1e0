use sessions::Session;

#[derive(Session, Default)]
#[session(ttl = "1h")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
