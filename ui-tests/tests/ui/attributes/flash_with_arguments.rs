use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[flash(keep)]
    notice: Option<String>,
}

fn main() {}
