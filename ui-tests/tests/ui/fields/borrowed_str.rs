use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    name: &'static str,
}

fn main() {}
