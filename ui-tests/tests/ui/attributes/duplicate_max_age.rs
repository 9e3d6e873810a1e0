use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[max_age("10m")]
    #[max_age("5m")]
    code: Option<String>,
}

fn main() {}
