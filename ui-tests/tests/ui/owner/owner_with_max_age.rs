use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    #[max_age("10m")]
    user_id: Option<u64>,
}

fn main() {}
