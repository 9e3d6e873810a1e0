use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    user_id: Option<u64>,
    #[owner]
    email: Option<String>,
}

fn main() {}
