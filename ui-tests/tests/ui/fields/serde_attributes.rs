use serde::{Deserialize, Serialize};
use sessions::Session;

// The struct also derives serde, for a JSON view; its serde attributes do not reach the session.
#[derive(Session, Serialize, Deserialize, Default)]
struct AppSession {
    #[serde(rename = "user")]
    user_id: Option<u64>,
    #[serde(skip)]
    password_hash: String,
    #[serde(default = "dark")]
    theme: String,
}

fn dark() -> String {
    "dark".into()
}

fn main() {}
