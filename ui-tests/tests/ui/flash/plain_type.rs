use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[flash]
    notice: String,
}

fn main() {}
