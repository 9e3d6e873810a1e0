use sessions::Session;

#[derive(Session, Default)]
#[session(secure)]
#[session(secure = true)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
