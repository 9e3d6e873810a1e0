use sessions::Session;

#[derive(Session, Default)]
struct Account {
    #[owner]
    user_id: Option<f64>,
}

fn main() {}
