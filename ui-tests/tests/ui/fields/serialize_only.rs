use sessions::Session;

#[derive(serde::Serialize, Default)]
struct Prefs {
    dark: bool,
}

#[derive(Session, Default)]
struct AppSession {
    user_id: Option<u64>,
    prefs: Prefs,
}

fn main() {}
