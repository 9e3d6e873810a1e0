use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[flash]
    notice: Option,
}

fn main() {}
