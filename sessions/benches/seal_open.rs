//! Seal and open of a typical session, side by side with the `cookie` crate's `PrivateJar` holding the
//! same data as JSON, and with the floor: bincode + AES-256-GCM with a prebuilt cipher + base64 alone.
//!
//! - `sessions CookieStore::open + seal`: cookie value in, cookie value out, as `PrivateJar::get` and
//!   `add` do. Opens, changes a field, seals.
//! - `sessions Store::load + save`: the same through HTTP headers: parse `Cookie`, format `Set-Cookie`.
//! - the floor: the least a sealed cookie needs. Its nonce travels with the ciphertext, as in any
//!   format a server can open again.
//!
//! Then each half alone (`open/…`, `seal/…`), ours beside the floor's.
//!
//! Run: `cargo bench -p sessions --bench seal_open`

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use aes_gcm::aead::{AeadInPlace, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
mod support;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use http::HeaderMap;
use http::header::COOKIE;
use rand::Rng as _;
use sessions::{CookieStore, Key, Keys, Store};
use support::{Typical, typical};

/// Polls a future that never waits (the cookie store does no I/O) to completion.
fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("the cookie store does not wait"),
    }
}

/// A cookie store, a request carrying the typical session's cookie, and that cookie's value.
fn signed_in() -> (CookieStore, HeaderMap, String) {
    let store = CookieStore::new(Keys::new(Key::generate()));
    let request = ready(support::signed_in(&store));
    let pair = request[COOKIE].to_str().unwrap();
    let value = pair.split_once('=').unwrap().1.to_owned();
    (store, request, value)
}

fn ours(c: &mut Criterion) {
    let (store, request, value) = signed_in();
    c.bench_function("seal+open/sessions CookieStore::open + seal", |b| {
        b.iter(|| {
            let mut session = store.open::<Typical>([black_box(value.as_str())]);
            session.admin = !session.admin;
            black_box(store.seal(&mut session).unwrap())
        })
    });
    c.bench_function(
        "seal+open/sessions Store::load + save (headers in, headers out)",
        |b| {
            b.iter(|| {
                let mut session = ready(store.load::<Typical>(black_box(&request))).unwrap();
                session.admin = !session.admin;
                let mut response = HeaderMap::new();
                ready(store.save(&mut session, &mut response)).unwrap();
                black_box(response)
            })
        },
    );
}

/// Each half alone, ours beside the floor's, to see which half the gap is in.
fn halves(c: &mut Criterion) {
    let (store, _, value) = signed_in();
    c.bench_function("open/sessions CookieStore::open", |b| {
        b.iter(|| black_box(store.open::<Typical>([black_box(value.as_str())])))
    });
    c.bench_function("seal/sessions CookieStore::seal", |b| {
        b.iter_batched(
            || store.open::<Typical>([value.as_str()]),
            |mut session| {
                session.admin = !session.admin;
                black_box(store.seal(&mut session).unwrap());
                session
            },
            BatchSize::SmallInput,
        )
    });
    let floor = Floor::new();
    let data = typical();
    let sealed = floor.seal(&data);
    c.bench_function("open/floor", |b| b.iter(|| floor.open(black_box(&sealed))));
    c.bench_function("seal/floor", |b| b.iter(|| floor.seal(black_box(&data))));
}

fn private_jar(c: &mut Criterion) {
    let key = cookie::Key::generate();
    let data = typical();
    c.bench_function("seal+open/cookie PrivateJar + serde_json", |b| {
        b.iter(|| {
            let mut jar = cookie::CookieJar::new();
            let json = serde_json::to_string(black_box(&data)).unwrap();
            jar.private_mut(&key).add(cookie::Cookie::new("app", json));
            let opened = jar.private(&key).get("app").unwrap();
            let back: Typical = serde_json::from_str(opened.value()).unwrap();
            black_box(back)
        })
    });
}

/// The floor: bincode, AES-256-GCM with a prebuilt cipher and a random nonce carried in front, base64.
struct Floor {
    cipher: Aes256Gcm,
}

impl Floor {
    fn new() -> Self {
        Self {
            cipher: Aes256Gcm::new_from_slice(&[7; 32]).unwrap(),
        }
    }

    fn seal(&self, data: &Typical) -> String {
        let mut sealed = vec![0u8; 12];
        rand::rng().fill_bytes(&mut sealed);
        bincode::serde::encode_into_std_write(data, &mut sealed, bincode::config::standard()).unwrap();
        let (nonce, payload) = sealed.split_at_mut(12);
        let tag = self
            .cipher
            .encrypt_in_place_detached(Nonce::from_slice(nonce), b"", payload)
            .unwrap();
        sealed.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(&sealed)
    }

    fn open(&self, value: &str) -> Typical {
        let mut opened = URL_SAFE_NO_PAD.decode(value).unwrap();
        let (nonce, rest) = opened.split_at_mut(12);
        let (payload, tag) = rest.split_at_mut(rest.len() - 16);
        self.cipher
            .decrypt_in_place_detached(Nonce::from_slice(nonce), b"", payload, Tag::from_slice(tag))
            .unwrap();
        let (back, _) = bincode::serde::decode_from_slice(payload, bincode::config::standard()).unwrap();
        back
    }
}

fn floor(c: &mut Criterion) {
    let floor = Floor::new();
    let data = typical();
    c.bench_function("seal+open/floor bincode + AES-256-GCM + base64", |b| {
        b.iter(|| {
            let value = floor.seal(black_box(&data));
            black_box(floor.open(black_box(&value)))
        })
    });
}

criterion_group!(benches, ours, private_jar, floor, halves);
criterion_main!(benches);
