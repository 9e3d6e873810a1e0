use sessions::Session;

#[derive(Session, Default)]
struct AppSession(Option<u64>);

fn main() {}
