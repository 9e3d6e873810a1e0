//! Entry points for the coverage-guided fuzz targets in `fuzz/` (feature `fuzz`), reaching what the
//! seal keeps from any client: the payload parser and a stored record's plaintext. Not a public API.
//!
//! Each entry point must never panic, whatever the bytes; that is what the fuzzer checks.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{HeaderMap, HeaderValue, header};

use crate::Store;
use crate::codec::id::{self, SessionId};
use crate::codec::payload::{self, Meta};
use crate::codec::{cookie, seal, snapshot, text};
use crate::key::Keys;
use crate::session::Session;
use crate::store::ServerStore;
use crate::store::backend::{Backend, Entries, Saved, SessionWrite, Stored};
use crate::store::server::record::{self, Part};

/// The clock every entry point reads: the golden vectors' time, so their seeds open.
pub const NOW: u64 = 1_700_000_000;

/// Restores a session from `payload` as if it had opened from a seal, then saves it back and restores
/// that: whatever opens once opens again.
pub fn payload<S: Session>(payload: &[u8]) {
    // The same bytes as a v1 payload, upgraded as on open.
    if let Ok(upgraded) = payload::upgrade_v1(payload) {
        let len = upgraded.len();
        let _ = snapshot::restore::<S>(upgraded, 0..len, NOW);
    }
    let Ok(restored) = snapshot::restore::<S>(payload.to_vec(), 0..payload.len(), NOW) else {
        return;
    };
    let mut out = Vec::new();
    let meta = Meta {
        refreshed_at: NOW,
        ..restored.meta
    };
    if snapshot::encode(
        &restored.value,
        Some(&restored.snapshot),
        (meta, &restored.snapshot.reserved),
        &mut out,
        |_| (),
    )
    .is_ok()
    {
        let len = out.len();
        let again = snapshot::restore::<S>(out, 0..len, NOW);
        assert!(again.is_ok(), "a payload this crate wrote does not restore");
    }
}

/// Loads a session whose stored record (whole, then as one field entry, then as a forward) holds
/// `plaintext`, sealed with `keys` as the store would, then saves, so the merge reads it too.
pub fn stored_record<S: Session>(keys: &Keys, plaintext: &[u8]) {
    let id = SessionId::from_text("fuzzfuzzfuzzfuzzfuzzfw").expect("a valid id");
    let binding = S::prepared().binding;
    let whole = record::seal(plaintext, Part::Whole, &id, keys, &binding);
    let times = record::seal(
        &plaintext[..plaintext.len().min(24)],
        Part::Meta,
        &id,
        keys,
        &binding,
    );
    let entry = record::seal(plaintext, Part::Field(0), &id, keys, &binding);
    let forward = record::seal(plaintext, Part::Forward, &id, keys, &binding);
    let mut cookie = String::from(S::CONFIG.cookie().name());
    cookie.push('=');
    id::sign(&id, keys, &S::prepared().binding, &mut cookie);
    let mut request = HeaderMap::new();
    request.insert(header::COOKIE, HeaderValue::from_str(&cookie).expect("base64url"));
    for stored in [
        Stored::Record(whole),
        Stored::Entries(Entries {
            meta: times,
            fields: vec![(0, entry)],
        }),
        Stored::Moved(forward),
    ] {
        let store = ServerStore::with_backend(Fixed(stored), keys.clone())
            .with_clock(crate::clock::ManualClock::at_unix(NOW));
        let Ok(mut session) = ready(store.load::<S>(&request)) else {
            continue;
        };
        let _ = ready(store.save(&mut session, &mut HeaderMap::new()));
    }
}

/// Opens a cookie value through the envelope only, for the seal's own parser.
pub fn envelope<S: Session>(keys: &Keys, value: &str) {
    let binding = &S::prepared().binding;
    if let Ok(mut buf) = text::decode(value) {
        let _ = seal::open(&mut buf, keys, binding, &[]);
    }
    if let Ok(opened) = cookie::open(value, keys, binding) {
        let _ = snapshot::restore::<S>(opened.buf, opened.payload, NOW);
    }
}

/// A backend that always holds one stored session and merges into it.
#[derive(Debug)]
struct Fixed(Stored);

impl Backend for Fixed {
    type Error = std::convert::Infallible;

    async fn load(&self, _: &SessionId) -> Result<Option<Stored>, Self::Error> {
        Ok(Some(self.0.clone()))
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Self::Error> {
        let _ = write.entries();
        Ok(match &self.0 {
            Stored::Record(current) => {
                let _ = write.merge(Some(current));
                Saved::Stored
            }
            Stored::Entries(_) => Saved::Stored,
            Stored::Moved(forward) => Saved::Moved(forward.clone()),
        })
    }

    async fn delete(&self, _: &SessionId) -> Result<(), Self::Error> {
        Ok(())
    }
}

/// Runs a future that never waits (the in-memory stores do no I/O) to completion.
pub fn ready<F: Future>(future: F) -> F::Output {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("an in-memory store waited"),
    }
}
