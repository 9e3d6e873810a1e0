use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[max_age("ten minutes")]
    code: Option<String>,
}

fn main() {}
