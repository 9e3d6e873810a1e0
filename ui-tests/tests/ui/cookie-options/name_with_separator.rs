use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "app;admin=1")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
