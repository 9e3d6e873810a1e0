use sessions::Session;

#[derive(Session, Default)]
struct AppSession {
    #[max_age]
    code: Option<String>,
}

fn main() {}
