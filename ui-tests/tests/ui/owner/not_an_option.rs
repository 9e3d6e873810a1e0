use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    user_id: u64,
}

fn main() {}
