//! The typical session both benchmarks measure: a `u64` id, a 20-character name, three 30-character
//! flash messages, a bool.

use http::HeaderMap;
use http::header::{COOKIE, SET_COOKIE};
use serde::{Deserialize, Serialize};
use sessions::{Session, Store};

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

/// A request carrying the cookie that a first save of the typical session through `store` sets.
pub async fn signed_in<St: Store>(store: &St) -> HeaderMap {
    let mut session = store.load::<Typical>(&HeaderMap::new()).await.unwrap();
    *session = typical();
    let mut response = HeaderMap::new();
    store.save(&mut session, &mut response).await.unwrap();
    let pair = response[SET_COOKIE]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let mut request = HeaderMap::new();
    request.insert(COOKIE, pair.parse().unwrap());
    request
}
