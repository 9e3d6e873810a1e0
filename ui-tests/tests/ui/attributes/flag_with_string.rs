use sessions::Session;

#[derive(Session, Default)]
#[session(secure = "yes")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
