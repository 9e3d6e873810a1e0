use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[session(max_age = "1h")]
    user_id: Option<u64>,
}

fn main() {}
