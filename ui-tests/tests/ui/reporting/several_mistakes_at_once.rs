use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "my app", same_site = "none", secure = false, max_age = "1h")]
struct AppSession {
    #[flash]
    notice: String,
    #[max_age("2h")]
    code: Option<String>,
}

fn main() {}
