use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    #[session(renam = "cart_v2")]
    cart: Vec<u32>,
}

fn main() {}
