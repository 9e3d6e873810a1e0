use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    avatar: Option<&'static [u8]>,
    tags: Vec<(u32, &'static str)>,
}

fn main() {}
