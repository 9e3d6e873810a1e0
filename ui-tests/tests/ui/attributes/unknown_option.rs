use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "app", samesite = "lax")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
