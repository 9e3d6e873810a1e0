use sessions::Session;

#[derive(Session, Default)]
#[session(same_site = "Lax")]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
