use sessions::Session;

#[derive(Session, Default)]
#[owner]
struct Account {
    user_id: Option<u64>,
}

fn main() {}
