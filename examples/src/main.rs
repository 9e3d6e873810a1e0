//! A walk through typed sessions, one simulated request at a time: sign in with a flash message, a cart,
//! a tampered cookie, and a key rotation that signs nobody out.
//!
//! Run: `cargo run -p sessions-examples`, or `cargo run -p sessions-examples -- --files DIR` to keep
//! the sessions in files under `DIR` instead of in the cookie. Set `SESSION_KEY` (base64, 32 bytes or
//! more) to use your own key; without it, a key is generated for this run. The axum demo app replaces
//! this walk-through when the axum integration lands.

use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderMap, HeaderValue};
use sessions::{CookieStore, FileStore, Key, Keys, Session, Store};

#[derive(Session, Default, Debug)]
#[session(cookie = "app", max_age = "14d", idle_timeout = "2h")]
struct AppSession {
    user_id: Option<u64>,
    cart: Vec<u32>,
    #[flash]
    notice: Option<String>,
    #[max_age("10m")]
    login_code: Option<String>,
}

/// The cookies a browser keeps for the site.
#[derive(Default)]
struct Browser {
    cookie: Option<String>,
}

impl Browser {
    fn request(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(cookie) = &self.cookie {
            headers.insert(
                COOKIE,
                HeaderValue::from_str(cookie).expect("a cookie is a valid header"),
            );
        }
        headers
    }

    fn receive(&mut self, response: &HeaderMap) {
        for line in response.get_all(SET_COOKIE) {
            let line = line.to_str().expect("Set-Cookie is ASCII");
            println!("    <- Set-Cookie: {}", shorten(line));
            let pair = line.split(';').next().unwrap_or_default();
            self.cookie = pair
                .split_once('=')
                .filter(|(_, value)| !value.is_empty())
                .map(|_| pair.to_owned());
        }
        if response.is_empty() {
            println!("    <- (no Set-Cookie: the cookie the browser has is current)");
        }
    }
}

fn shorten(line: &str) -> String {
    let (pair, attributes) = line.split_once(';').unwrap_or((line, ""));
    if pair.len() > 40 {
        format!("{}...({} bytes);{attributes}", &pair[..36], pair.len())
    } else {
        line.to_owned()
    }
}

fn key_from_env() -> Key {
    match std::env::var("SESSION_KEY") {
        Ok(text) => match Key::from_base64(&text) {
            Ok(key) => key,
            Err(error) => {
                eprintln!("SESSION_KEY is not usable: {error}");
                std::process::exit(2);
            }
        },
        Err(_) => {
            println!("SESSION_KEY is not set: using a key generated for this run.\n");
            Key::generate()
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let old_key = key_from_env();
    let new_key = Key::generate();
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        None => {
            let store = CookieStore::new(Keys::new(old_key.clone()));
            let rotated = CookieStore::new(Keys::new(new_key).with_fallback(old_key));
            walk(store, rotated).await
        }
        Some("--files") if args.len() == 3 => {
            println!(
                "Sessions live in files under {}; the cookie carries a signed id.\n",
                args[2]
            );
            let store = FileStore::open(&args[2], Keys::new(old_key.clone()))?;
            let rotated = FileStore::open(&args[2], Keys::new(new_key).with_fallback(old_key))?;
            walk(store, rotated).await
        }
        Some(_) => {
            eprintln!("usage: sessions-examples [--files DIR]");
            std::process::exit(2);
        }
    }
}

/// The requests of one visit, against `store`; then the same visitor after a deploy that made
/// `rotated` (a new primary key, the old one as fallback).
async fn walk<St: Store>(store: St, rotated: St) -> Result<(), Box<dyn std::error::Error>> {
    let mut browser = Browser::default();

    println!("1. POST /sign-in");
    let mut session = store.load::<AppSession>(&browser.request()).await?;
    println!("    new session: {}", session.is_new());
    session.user_id = Some(7);
    session.flash_notice("Welcome back!".into());
    session.cart.extend([101, 202]);
    let mut response = HeaderMap::new();
    store.save(&mut session, &mut response).await?;
    browser.receive(&response);

    println!("\n2. GET / (after the redirect)");
    let mut session = store.load::<AppSession>(&browser.request()).await?;
    println!("    user {:?}, cart {:?}", session.user_id, session.cart);
    println!("    flash: {:?}", session.take_notice());
    let mut response = HeaderMap::new();
    store.save(&mut session, &mut response).await?;
    browser.receive(&response);

    println!("\n3. GET / (reload)");
    let mut session = store.load::<AppSession>(&browser.request()).await?;
    println!("    flash: {:?} (read once, then gone)", session.take_notice());
    let mut response = HeaderMap::new();
    store.save(&mut session, &mut response).await?;
    browser.receive(&response);

    println!("\n4. GET / with a tampered cookie");
    let mut tampered = Browser::default();
    let mut value = browser.cookie.clone().unwrap_or_default();
    let at = value.len() / 2; // inside the ciphertext
    let flipped = if &value[at..=at] == "A" { "B" } else { "A" };
    value.replace_range(at..=at, flipped);
    tampered.cookie = Some(value);
    let session = store.load::<AppSession>(&tampered.request()).await?;
    println!(
        "    refused: {:?}; the request goes on with a fresh session: user {:?}",
        session.rejection(),
        session.user_id
    );
    println!("    refused so far: {:?}", store.rejections());

    println!("\n5. Deploy with a new key, the old one kept as a fallback");
    let mut session = rotated.load::<AppSession>(&browser.request()).await?;
    println!("    still signed in: user {:?}", session.user_id);
    let mut response = HeaderMap::new();
    rotated.save(&mut session, &mut response).await?;
    browser.receive(&response);
    println!("    (re-sealed with the new key although nothing changed)");
    Ok(())
}
