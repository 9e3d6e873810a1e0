use sessions::Session;

#[derive(Session)]
enum AppSession {
    Anonymous,
    SignedIn(u64),
}

fn main() {}
