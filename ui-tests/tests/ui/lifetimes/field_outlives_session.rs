use sessions::Session;

#[derive(Session, Default)]
#[session(max_age = "1d")]
struct AppSession {
    #[max_age("2d")]
    code: Option<String>,
}

fn main() {}
