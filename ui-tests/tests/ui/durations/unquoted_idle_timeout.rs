use sessions::Session;

#[derive(Session, Default)]
#[session(idle_timeout = 2h)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
