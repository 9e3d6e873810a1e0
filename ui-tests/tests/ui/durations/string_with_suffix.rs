use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    #[max_age("10m"s)]
    login_code: Option<String>,
}

fn main() {}
