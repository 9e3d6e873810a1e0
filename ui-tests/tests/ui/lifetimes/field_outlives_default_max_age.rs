use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[max_age("30d")]
    code: Option<String>,
}

fn main() {}
