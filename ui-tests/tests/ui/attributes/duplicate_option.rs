use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "app", max_age = "1d", cookie = "other")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
