use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    #[session(rename = "")]
    cart: Vec<u32>,
}

fn main() {}
