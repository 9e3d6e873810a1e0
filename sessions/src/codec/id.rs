//! Session ids for server-side stores: 128 random bits, carried in the cookie signed (the id
//! envelope of [`crate::codec::seal`]), so a forged or guessed id is refused before any store is
//! asked for it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::codec::seal::{self, Binding, ID_LEN};
use crate::codec::text;
use crate::error::Rejection;
use crate::key::Keys;

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

/// Appends the cookie value carrying `id`, signed with the primary key, to `out`.
pub(crate) fn sign(id: &SessionId, keys: &Keys, binding: &Binding, out: &mut String) {
    text::encode(&seal::sign_id(&id.0, keys.primary(), binding), out);
}

/// A verified id, and whether a fallback key signed it.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) id: SessionId,
    pub(crate) by_fallback: bool,
}

/// Checks a cookie value made by [`sign`].
pub(crate) fn verify(value: &str, keys: &Keys, binding: &Binding) -> Result<Verified, Rejection> {
    let (id, by_fallback) = seal::verify_id(&text::decode(value)?, keys, binding)?;
    Ok(Verified {
        id: SessionId(id),
        by_fallback,
    })
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
