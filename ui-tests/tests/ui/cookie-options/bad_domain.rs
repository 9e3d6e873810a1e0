use sessions::Session;

#[derive(Session, Default)]
#[session(domain = "example.com; secure")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
