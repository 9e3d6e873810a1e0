//! The cart route with its cart sealed by hand in the handler: what a sealed cookie costs with no
//! library at all. The same primitives as the cookie store (the `cookie` crate to find the cookie,
//! base64url, AES-256-GCM with a prebuilt cipher and a random nonce, bincode 2), and none of its
//! work besides (no key ids, no times, no per-field records, no change tracking, no layer).

use std::sync::Arc;

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use axum::Form;
use axum::extract::State;
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::Rng as _;
use sessions_examples::{CART_SIZE, CATALOG};

use crate::support::ItemForm;

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The cipher the handler seals with.
pub fn cipher() -> Arc<Aes256Gcm> {
    Arc::new(Aes256Gcm::new_from_slice(&rand::random::<[u8; 32]>()).expect("a 32-byte key"))
}

/// `POST /cart` of the demo, with the cart in a cookie sealed right here.
pub async fn cart(
    State(cipher): State<Arc<Aes256Gcm>>,
    headers: HeaderMap,
    Form(form): Form<ItemForm>,
) -> impl IntoResponse {
    let mut items = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|cookie| cookie.name() == "cart")
        .and_then(|cookie| open(&cipher, cookie.value()))
        .unwrap_or_default();
    if CATALOG.contains(&form.item.as_str()) {
        items.push(form.item);
        if items.len() > CART_SIZE {
            items.remove(0);
        }
    }
    let line = format!(
        "cart={}; HttpOnly; SameSite=Lax; Path=/; Max-Age=2592000",
        seal(&cipher, &items)
    );
    let line = HeaderValue::try_from(line).expect("base64url and fixed attributes");
    ([(SET_COOKIE, line)], Redirect::to("/"))
}

fn seal(cipher: &Aes256Gcm, items: &[String]) -> String {
    let mut sealed = vec![0; NONCE_LEN];
    rand::rng().fill_bytes(&mut sealed);
    bincode::serde::encode_into_std_write(items, &mut sealed, bincode::config::standard())
        .expect("a Vec of Strings encodes");
    let (nonce, payload) = sealed.split_at_mut(NONCE_LEN);
    let tag = cipher
        .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", payload)
        .expect("a payload within AES-GCM's limit");
    sealed.extend_from_slice(&tag);
    URL_SAFE_NO_PAD.encode(&sealed)
}

/// The cart in `value`, or `None` for anything that does not open.
fn open(cipher: &Aes256Gcm, value: &str) -> Option<Vec<String>> {
    let mut opened = URL_SAFE_NO_PAD.decode(value).ok()?;
    if opened.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, rest) = opened.split_at_mut(NONCE_LEN);
    let (payload, tag) = rest.split_at_mut(rest.len() - TAG_LEN);
    cipher
        .decrypt_in_place_detached(Nonce::from_slice(nonce), b"", payload, Tag::from_slice(tag))
        .ok()?;
    let (items, _) = bincode::serde::decode_from_slice(payload, bincode::config::standard()).ok()?;
    Some(items)
}
