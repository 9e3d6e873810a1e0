use sessions::Session;

#[derive(Session, Default)]

struct AppSession {
    visits: std::cell::Cell<u32>,
    shared: std::rc::Rc<String>,
}

fn main() {}
