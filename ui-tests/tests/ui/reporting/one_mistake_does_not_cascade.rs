use sessions::Session;

#[derive(Session, Default)]
#[session(cookie = "my app")]
struct AppSession {
    #[flash]
    notice: Option<String>,
}

// Uses of the type elsewhere still compile: only the cookie name is reported.
fn uses_it(session: &mut AppSession) -> Option<String> {
    session.flash_notice("saved".to_string());
    session.take_notice()
}

fn needs_session<S: Session>() {}

fn also_uses_it() {
    needs_session::<AppSession>();
}

fn main() {
    let _ = uses_it;
    also_uses_it();
}
