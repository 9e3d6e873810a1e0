use sessions::Session;

#[derive(Session, Default)]
struct AppSession<'a> {
    name: &'a str,
}

fn main() {}
