//! Session ids for server-side stores: 128 random bits, carried in the cookie with an HMAC.
//!
//! ```text
//! cookie value = base64url( version u8 = 1 | kind u8 = 2 | key_id u32 BE | id [16] | hmac [16] )
//! ```
//! The HMAC (HMAC-SHA256 under the key's id sub-key, truncated to 128 bits, compared in constant
//! time) covers the header, the cookie and type names, and the id, so a forged or guessed id is refused
//! before any store is asked for it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::Mac;

use crate::codec::seal::{self, Binding, HEADER_LEN};
use crate::codec::{self, MAX_COOKIE_LEN};
use crate::error::Rejection;
use crate::key::{DerivedKey, Keys};
use crate::session::Session;

/// Signed ids keep format version 1: version 2 changed only the payload of sealed sessions.
const VERSION: u8 = 1;
const KIND_ID: u8 = 2;
const ID_LEN: usize = 16;
const TAG_LEN: usize = 16;
const SIGNED_LEN: usize = HEADER_LEN + ID_LEN + TAG_LEN;

/// A server-side session's id: 128 bits from a CSPRNG.
///
/// Its text form ([`SessionId::to_text`], 22 characters of the base64url alphabet) is safe as a file
/// name or a database key, and nothing that is not such a text ever becomes an id. `Debug` does not show
/// it: an id is a bearer credential.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct SessionId([u8; ID_LEN]);

impl SessionId {
    /// The length of [`SessionId::to_text`].
    pub const TEXT_LEN: usize = 22;

    pub(crate) fn random() -> Self {
        let mut bytes = [0; ID_LEN];
        crate::random::fill(&mut bytes);
        Self(bytes)
    }

    pub(crate) fn from_bytes(bytes: [u8; ID_LEN]) -> Self {
        Self(bytes)
    }

    pub(crate) fn as_bytes(&self) -> &[u8; ID_LEN] {
        &self.0
    }

    /// The id as 22 characters of `A-Z a-z 0-9 - _`.
    pub fn to_text(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0)
    }

    /// Parses [`SessionId::to_text`]'s form; anything else (other characters, other lengths, `..`, a
    /// path) is `None`.
    pub fn from_text(text: &str) -> Option<Self> {
        if text.len() != Self::TEXT_LEN {
            return None;
        }
        let mut bytes = [0; ID_LEN];
        let len = URL_SAFE_NO_PAD.decode_slice(text, &mut bytes).ok()?;
        (len == ID_LEN).then_some(Self(bytes))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

fn tag(
    key: &DerivedKey,
    binding: &Binding,
    header: &[u8; HEADER_LEN],
    id: &[u8],
) -> hmac::Hmac<sha2::Sha256> {
    let mut mac = key.id_signer.clone();
    mac.update(&binding.associated_data(header, &[]));
    mac.update(id);
    mac
}

/// Appends the cookie value carrying `id`, signed with the primary key, to `out`.
pub(crate) fn sign<S: Session>(id: &SessionId, keys: &Keys, out: &mut String) {
    let key = keys.primary();
    let [a, b, c, d] = key.id.to_be_bytes();
    let header = [VERSION, KIND_ID, a, b, c, d];
    let mut buf = Vec::with_capacity(SIGNED_LEN);
    buf.extend_from_slice(&header);
    buf.extend_from_slice(&id.0);
    let mac = tag(key, &S::prepared().binding, &header, &id.0)
        .finalize()
        .into_bytes();
    buf.extend_from_slice(&mac[..TAG_LEN]);
    URL_SAFE_NO_PAD.encode_string(&buf, out);
}

/// A verified id, and whether a fallback key signed it.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) id: SessionId,
    pub(crate) by_fallback: bool,
}

/// Checks a cookie value made by [`sign`].
pub(crate) fn verify<S: Session>(value: &str, keys: &Keys) -> Result<Verified, Rejection> {
    if value.len() > MAX_COOKIE_LEN {
        return Err(Rejection::Oversized);
    }
    let buf = codec::decode_base64(value)?;
    if buf.len() < 2 {
        return Err(Rejection::Malformed);
    }
    if buf[0] != VERSION {
        return Err(seal::unknown_version(buf[0], VERSION));
    }
    if buf[1] != KIND_ID || buf.len() != SIGNED_LEN {
        return Err(Rejection::Malformed);
    }
    let (header, rest) = buf
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(Rejection::Malformed)?;
    let (id, mac) = rest.split_at(ID_LEN);
    let key_id = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
    let mut candidates = keys.with_id(key_id).peekable();
    if candidates.peek().is_none() {
        return Err(Rejection::UnknownKey);
    }
    for key in candidates {
        if tag(key, &S::prepared().binding, header, id)
            .verify_truncated_left(mac)
            .is_ok()
        {
            return Ok(Verified {
                id: SessionId(id.try_into().map_err(|_| Rejection::Malformed)?),
                by_fallback: !std::ptr::eq(key, keys.primary()),
            });
        }
    }
    Err(Rejection::Tampered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_is_fixed_and_nothing_else_parses() {
        let id = SessionId::random();
        let text = id.to_text();
        assert_eq!(text.len(), SessionId::TEXT_LEN);
        assert!(
            text.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(SessionId::from_text(&text), Some(id));
        for hostile in [
            "../../etc/passwd",
            "..",
            "/etc/passwd",
            "AAAAAAAAAAAAAAAAAAAA\0A",
            "",
            &"A".repeat(23),
            "AAAAAAAAAAAAAAAAAAAA/A",
        ] {
            assert_eq!(SessionId::from_text(hostile), None, "{hostile:?}");
        }
        assert_eq!(format!("{:?}", SessionId::random()), "SessionId(..)");
    }
}
