use sessions::Session;

#[derive(Session, Default)]
#[session(same_site = "none", secure = false)]
struct AppSession {
    user_id: Option<u64>,
}

fn main() {}
