use sessions::Session;

#[derive(Session, Default)]
#[flash]
struct AppSession {
    notice: Option<String>,
}

fn main() {}
