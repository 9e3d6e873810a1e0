use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[session(owner)]
    user_id: Option<u64>,
}

fn main() {}
