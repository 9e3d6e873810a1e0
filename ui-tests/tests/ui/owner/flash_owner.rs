use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    #[flash]
    user_id: Option<u64>,
}

fn main() {}
