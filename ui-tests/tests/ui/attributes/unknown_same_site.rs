use sessions::Session;

#[derive(Session, Default)]
#[session(same_site = "relaxed")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
