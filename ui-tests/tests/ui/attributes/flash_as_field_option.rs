use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    #[session(flash)]
    notice: Option<String>,
}

fn main() {}
