use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    liquid: Option<u64>,
    #[session(rename = "costarring")]
    other: Option<u64>,
}

fn main() {}
