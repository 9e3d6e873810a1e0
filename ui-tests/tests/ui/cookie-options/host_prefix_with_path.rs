use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "__Host-app", path = "/admin")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
