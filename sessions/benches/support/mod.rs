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
    signed_in_as::<Typical, _>(store, |session| *session = typical()).await
}

/// A request carrying the cookie that a first save through `store` of a session of type `S`,
/// filled by `fill`, sets.
pub async fn signed_in_as<S: Session, St: Store>(store: &St, fill: impl FnOnce(&mut S)) -> HeaderMap {
    let mut session = store.load::<S>(&HeaderMap::new()).await.unwrap();
    fill(&mut session);
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
