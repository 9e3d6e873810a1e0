use sessions::Session;

#[derive(Session, Default)]
#[session(partitioned, secure = false)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
