use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    cart: Vec<u32>,
    #[session(rename = "cart")]
    basket: Vec<u32>,
}

fn main() {}
