use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[flash]
    #[flash]
    notice: Option<String>,
}

fn main() {}
