use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner(user)]
    user_id: Option<u64>,
    #[listed = true]
    device: Option<String>,
}

fn main() {}
