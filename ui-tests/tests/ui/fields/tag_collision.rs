use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    costarring: Option<u64>,
    liquid: Option<u64>,
}

fn main() {}
