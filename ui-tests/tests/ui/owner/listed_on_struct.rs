use sessions::Session;

#[derive(Session, Default)]
#[listed]
struct Account {
    device: Option<String>,
}

fn main() {}
