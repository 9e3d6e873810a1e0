use sessions::Session;

#[derive(Session, Default)]
struct AppSession;

fn main() {}
