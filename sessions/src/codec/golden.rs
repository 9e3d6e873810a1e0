//! The wire format pinned by fixed vectors (`testdata/wire-v<N>.txt`), as cookie-rs pins its own: a
//! round trip through the code under test cannot notice a format change, fixed bytes can.
//!
//! Each vector is made under a fixed key, fixed randomness (nonces, session ids) and a fixed clock,
//! through the stores' own paths: a sealed cookie, a signed cookie, a signed id, a sealed server-side
//! record and the per-field entries of the same session, each with its payload before sealing. The
//! tests open every vector and compare the values, and make every vector again and compare the bytes.
//!
//! Today's code makes the vectors of the version it writes (v2), byte for byte, and opens those of
//! every version it reads (v1 and v2). A change of format fails them: bump the envelope version, keep
//! reading the old ones, and add the new version's vectors beside these. `SESSIONS_WRITE_GOLDEN=1`
//! writes the file of the version written today, for a new version only; never to make a failing
//! test pass.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Mutex;

use http::{HeaderMap, HeaderValue, header};
use serde::{Deserialize, Serialize};

use crate::clock::ManualClock;
use crate::random::tests::pinned;
use crate::session::Origin;
use crate::store::ServerStore;
use crate::store::backend::{Backend, Entries, Saved, SessionWrite, Stored};
use crate::store::cookie::CookieUpdate;
use crate::{CookieStore, Key, Keys, Loaded, Session, Store};

const NOW: u64 = 1_700_000_000;
const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

/// Every version this build reads, oldest first; the last is the one it writes.
const VERSIONS: [u8; 2] = [crate::codec::seal::V1, crate::codec::seal::VERSION];

fn file(version: u8) -> String {
    format!("{DIR}/wire-v{version}.txt")
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
enum Role {
    #[default]
    Guest,
    Member,
    Admin,
}

#[derive(Serialize, Deserialize, Default, Debug, Clone, PartialEq)]
struct Line {
    sku: u32,
    quantity: u16,
}

#[derive(crate::Session, Default, Debug, PartialEq)]
#[session(cookie = "golden")]
struct Golden {
    user_id: Option<u64>,
    role: Role,
    cart: Vec<Line>,
    #[flash]
    notice: Option<String>,
    #[max_age("10m")]
    code: Option<u32>,
}

#[derive(crate::Session, Default, Debug, PartialEq)]
#[session(cookie = "golden_signed", signed)]
struct GoldenSigned {
    user_id: Option<u64>,
    theme: String,
}

fn golden() -> Golden {
    Golden {
        user_id: Some(42),
        role: Role::Member,
        cart: vec![
            Line {
                sku: 1001,
                quantity: 2,
            },
            Line {
                sku: 70_000,
                quantity: 1,
            },
        ],
        notice: Some("Welcome, Ada!".into()),
        code: Some(123_456),
    }
}

fn golden_signed() -> GoldenSigned {
    GoldenSigned {
        user_id: Some(7),
        theme: "dark".into(),
    }
}

fn keys() -> Keys {
    let secret: Vec<u8> = (0u8..64).map(|i| i.wrapping_mul(37).wrapping_add(11)).collect();
    Keys::new(Key::from_bytes(&secret).expect("64 bytes"))
}

fn clock() -> ManualClock {
    ManualClock::at_unix(NOW)
}

fn new_session<S: Session>(value: S) -> Loaded<S> {
    let mut session = Loaded::new(Origin::New, NOW);
    *session = value;
    session
}

/// A backend that keeps what it was last given, as a whole record and as entries, and hands back
/// whichever the test asks for.
#[derive(Debug, Default)]
struct Capture {
    record: Mutex<Option<Vec<u8>>>,
    entries: Mutex<Option<Entries>>,
    serve: Mutex<Option<Stored>>,
}

impl Backend for Capture {
    type Error = Infallible;

    async fn load(&self, _: &crate::store::backend::SessionId) -> Result<Option<Stored>, Infallible> {
        Ok(self.serve.lock().unwrap().clone())
    }

    async fn save(&self, write: SessionWrite) -> Result<Saved, Infallible> {
        *self.record.lock().unwrap() = write.merge(None);
        *self.entries.lock().unwrap() = Some(write.entries());
        Ok(Saved::Stored)
    }

    async fn delete(&self, _: &crate::store::backend::SessionId) -> Result<(), Infallible> {
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex"))
        .collect()
}

fn block_on<F: Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(future)
}

/// Every vector, made by today's code: name to text.
fn make() -> BTreeMap<String, String> {
    let mut vectors = BTreeMap::new();
    let cookie_store = CookieStore::new(keys()).with_clock(clock());

    let mut session = new_session(golden());
    let Ok(CookieUpdate::Set { value, .. }) = pinned(1, || cookie_store.seal(&mut session)) else {
        panic!("a new session with values is set");
    };
    vectors.insert("sealed-cookie.payload".into(), hex(session.stored_payload()));
    vectors.insert("sealed-cookie".into(), value);

    let mut session = new_session(golden_signed());
    let Ok(CookieUpdate::Set { value, .. }) = pinned(1, || cookie_store.seal(&mut session)) else {
        panic!("a new session with values is set");
    };
    vectors.insert("signed-cookie.payload".into(), hex(session.stored_payload()));
    vectors.insert("signed-cookie".into(), value);

    let server = ServerStore::with_backend(Capture::default(), keys()).with_clock(clock());
    let mut session = new_session(golden());
    let mut response = HeaderMap::new();
    pinned(101, || block_on(server.save(&mut session, &mut response))).unwrap();
    let line = response[header::SET_COOKIE].to_str().unwrap();
    let value = line.split(';').next().unwrap().strip_prefix("golden=").unwrap();
    vectors.insert("signed-id".into(), value.to_string());
    vectors.insert("record.payload".into(), hex(session.stored_payload()));
    let record = server.backend().record.lock().unwrap().clone().unwrap();
    vectors.insert("record".into(), hex(&record));
    let entries = server.backend().entries.lock().unwrap().clone().unwrap();
    vectors.insert("entries.meta".into(), hex(&entries.meta));
    for (tag, entry) in &entries.fields {
        vectors.insert(format!("entries.field.{tag:08x}"), hex(entry));
    }
    vectors
}

/// The vectors of `version`.
fn read(version: u8) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(file(version)).expect("testdata/wire-v<N>.txt");
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("`name: value`");
            (name.to_string(), value.to_string())
        })
        .collect()
}

#[test]
fn todays_version_is_made_byte_for_byte_as_pinned() {
    let version = crate::codec::seal::VERSION;
    let made = make();
    if std::env::var_os("SESSIONS_WRITE_GOLDEN").is_some() {
        let mut text = format!(
            "# Wire format v{version}, pinned: see sessions/src/codec/golden.rs. Key: bytes i*37+11 for i in 0..64;\n\
             # randomness: counting bytes from 1 (cookies) or 101 (server store); clock: 1700000000.\n",
        );
        for (name, value) in &made {
            text.push_str(&format!("{name}: {value}\n"));
        }
        std::fs::write(file(version), text).unwrap();
    }
    let pinned = read(version);
    assert_eq!(made.keys().collect::<Vec<_>>(), pinned.keys().collect::<Vec<_>>());
    for (name, value) in &pinned {
        assert_eq!(&made[name], value, "vector `{name}` is no longer made the same");
    }
}

#[test]
fn cookies_of_every_version_open_to_their_values() {
    let store = CookieStore::new(keys()).with_clock(clock());
    for version in VERSIONS {
        let vectors = read(version);
        let session = store.open::<Golden>([vectors["sealed-cookie"].as_str()]);
        assert_eq!(session.origin(), Origin::Restored, "v{version}");
        assert!(session.reset_fields().is_empty(), "v{version}");
        assert_eq!(*session, golden(), "v{version}");

        let session = store.open::<GoldenSigned>([vectors["signed-cookie"].as_str()]);
        assert_eq!(session.origin(), Origin::Restored, "v{version}");
        assert_eq!(*session, golden_signed(), "v{version}");
    }
}

#[test]
fn server_records_and_entries_of_every_version_open_to_their_values() {
    for version in VERSIONS {
        let vectors = read(version);
        let mut request = HeaderMap::new();
        let cookie = format!("golden={}", vectors["signed-id"]);
        request.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        let entries = Entries {
            meta: unhex(&vectors["entries.meta"]),
            fields: vectors
                .iter()
                .filter_map(|(name, value)| {
                    let tag = name.strip_prefix("entries.field.")?;
                    Some((u32::from_str_radix(tag, 16).unwrap(), unhex(value)))
                })
                .collect(),
        };
        for stored in [
            Stored::Record(unhex(&vectors["record"])),
            Stored::Entries(entries),
        ] {
            let server = ServerStore::with_backend(Capture::default(), keys()).with_clock(clock());
            *server.backend().serve.lock().unwrap() = Some(stored.clone());
            let session = block_on(server.load::<Golden>(&request)).unwrap();
            assert_eq!(session.origin(), Origin::Restored, "v{version}: {stored:?}");
            assert!(session.reset_fields().is_empty(), "v{version}");
            assert_eq!(*session, golden(), "v{version}");
        }
    }
}

#[test]
fn a_v1_cookie_is_sealed_again_in_todays_format_at_the_next_save() {
    let store = CookieStore::new(keys()).with_clock(clock());
    let mut session = store.open::<Golden>([read(crate::codec::seal::V1)["sealed-cookie"].as_str()]);
    let Ok(CookieUpdate::Set { value, .. }) = store.seal(&mut session) else {
        panic!("a v1 cookie is re-issued though nothing changed");
    };
    let bytes = crate::codec::text::decode(&value).unwrap();
    assert_eq!(bytes[0], crate::codec::seal::VERSION);
    assert_eq!(*store.open::<Golden>([value.as_str()]), golden());
}
