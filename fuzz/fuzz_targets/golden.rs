//! The session type and key of the golden vectors (`sessions/src/codec/golden.rs`), so that the
//! corpora seeded from `sessions/testdata/wire-v*.txt` open and the fuzzer starts deep in the format.

use serde::{Deserialize, Serialize};
use sessions::{Key, Keys, Session};

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub enum Role {
    #[default]
    Guest,
    Member,
    Admin,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
pub struct Line {
    pub sku: u32,
    pub quantity: u16,
}

#[derive(Session, Default, Debug, PartialEq)]
#[session(cookie = "golden")]
pub struct Golden {
    pub user_id: Option<u64>,
    pub role: Role,
    pub cart: Vec<Line>,
    #[flash]
    pub notice: Option<String>,
    #[max_age("10m")]
    pub code: Option<u32>,
}

#[allow(dead_code)] // the payload target has no use for a key
pub fn keys() -> Keys {
    let secret: Vec<u8> = (0u8..64).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    Keys::new(Key::from_bytes(&secret).expect("the golden key"))
}
