use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    user: Option<(u64, String)>,
}

fn main() {}
