use sessions::Session;

#[derive(Session, Default)]
#[session(rename = "app")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
