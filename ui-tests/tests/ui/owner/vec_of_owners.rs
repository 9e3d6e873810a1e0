use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    user_ids: Vec<u64>,
}

fn main() {}
