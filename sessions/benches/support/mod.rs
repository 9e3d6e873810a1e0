//! The typical session both benchmarks measure: a `u64` id, a 20-character name, three 30-character
//! flash messages, a bool.

use serde::{Deserialize, Serialize};
use sessions::Session;

#[derive(Session, Default, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[session(cookie = "app")]
pub struct Typical {
    pub user_id: u64,
    pub name: String,
    #[flash]
    pub messages: Vec<String>,
    pub admin: bool,
}

pub fn typical() -> Typical {
    Typical {
        user_id: 1_234_567,
        name: "Ada Lovelace Byron 1".into(),
        messages: vec![
            "Your profile has been updated.".into(),
            "Two new messages in your inbox".into(),
            "Your order #4411 has shipped!!".into(),
        ],
        admin: false,
    }
}
