use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "app", max_agee = "14d")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
