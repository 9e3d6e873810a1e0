use sessions::Session;

struct Connection;

#[derive(Session, Default)]
struct AppSession {
    user_id: Option<u64>,
    connection: Option<Connection>,
}

fn main() {}
