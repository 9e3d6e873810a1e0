use sessions::Session;

// Every value of the list is wrong in its own way: each is reported, none hides the next.
#[derive(Session, Default)]
#[session(cookie = 5, max_age = "forever", secure = "yes", same_site = lax, path = "relative", idle_timeout = 30)]
struct AppSession {
    #[session(rename = 7)]
    user_id: Option<u64>,
    #[session(rename = "")]
    cart: Vec<u32>,
}

fn main() {}
