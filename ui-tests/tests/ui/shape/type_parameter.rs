use sessions::Session;

#[derive(Session, Default)]
struct AppSession<T> {
    value: Option<T>,
}

fn main() {}
