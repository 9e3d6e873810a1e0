use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    #[owner]
    user_id: Option<u64>,
}

fn main() {}
