//! Secret keys, the sub-keys derived from them, and rotation.
//!
//! One master secret per [`Key`]; HKDF-SHA256 derives a separate sub-key for each purpose (sealing,
//! signing, signing session ids) and a public key id, so a cookie names the key that opens it.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::KeyError;

/// A master secret of at least [`Key::MIN_LEN`] bytes. Zeroized on drop; never printed.
///
/// ```
/// use sessions::Key;
///
/// let key = Key::generate();
/// assert_eq!(format!("{key:?}"), "Key(..)");
/// assert!(Key::from_bytes(&[7; 16]).is_err()); // too short
/// ```
#[derive(Clone)]
pub struct Key {
    secret: Zeroizing<Vec<u8>>,
}

impl Key {
    /// The shortest secret accepted, in bytes.
    pub const MIN_LEN: usize = 32;

    /// A key from raw secret bytes; refused when shorter than [`Key::MIN_LEN`].
    pub fn from_bytes(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort {
                len: secret.len(),
                min: Self::MIN_LEN,
            });
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_vec()),
        })
    }

    /// A key from base64 text (standard or URL-safe alphabet, padded or not), as kept in an
    /// environment variable such as `SESSION_KEY`.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text = text.trim().trim_end_matches('=');
        let engine = if text.contains(['-', '_']) {
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
        } else {
            &base64::engine::general_purpose::STANDARD_NO_PAD
        };
        let secret = Zeroizing::new(engine.decode(text).map_err(|_| KeyError::NotBase64)?);
        Self::from_bytes(&secret)
    }

    /// A fresh random 64-byte key from a CSPRNG seeded by the operating system, for tests and development.
    pub fn generate() -> Self {
        let mut secret = Zeroizing::new(vec![0; 64]);
        rand::fill(&mut secret[..]);
        Self { secret }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key(..)")
    }
}

/// The keys a store seals with and opens with: one primary and any number of fallbacks.
///
/// New cookies are sealed with the primary key. A cookie sealed with a fallback key still opens and is
/// re-sealed with the primary key on its next save, so keys rotate without signing anybody out.
///
/// Rotate in three deploys: add the new key as a fallback everywhere; promote it to primary, keeping
/// the old one as a fallback; drop the old one once no session sealed with it is alive. A cookie or
/// record under a key this instance lacks is refused as [`Rejection::UnknownKey`](crate::Rejection)
/// but never cleared or deleted: it may be another instance's.
///
/// ```
/// use sessions::{Key, Keys};
///
/// # let (new, old) = (Key::generate(), Key::generate());
/// let keys = Keys::new(new).with_fallback(old);
/// assert_eq!(keys.len(), 2);
/// ```
#[derive(Clone)]
pub struct Keys {
    primary: DerivedKey,
    fallbacks: Vec<DerivedKey>,
}

impl Keys {
    /// Keys with `primary` as the only key.
    pub fn new(primary: Key) -> Self {
        Self {
            primary: DerivedKey::derive(&primary),
            fallbacks: Vec::new(),
        }
    }

    /// Adds a key that still opens cookies but is never used to seal new ones.
    #[must_use]
    pub fn with_fallback(mut self, fallback: Key) -> Self {
        self.fallbacks.push(DerivedKey::derive(&fallback));
        self
    }

    /// How many keys there are, the primary included.
    pub fn len(&self) -> usize {
        1 + self.fallbacks.len()
    }

    /// Always false: there is at least the primary key.
    pub fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn primary(&self) -> &DerivedKey {
        &self.primary
    }

    /// The keys whose id is `id`, primary first. Two different secrets share an id with a chance of one in
    /// 2^32, so this is almost always zero or one key, and never a search through every key.
    pub(crate) fn with_id(&self, id: u32) -> impl Iterator<Item = &DerivedKey> {
        std::iter::once(&self.primary)
            .chain(&self.fallbacks)
            .filter(move |key| key.id == id)
    }
}

impl fmt::Debug for Keys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keys")
            .field("primary", &format_args!("{:08x}", self.primary.id))
            .field(
                "fallbacks",
                &self
                    .fallbacks
                    .iter()
                    .map(|key| format!("{:08x}", key.id))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// The per-purpose keys derived from one [`Key`], each built once (the AES key schedule and the HMAC
/// pads are computed here, not per request). The AES round keys zeroize on drop (`aes-gcm`'s
/// `zeroize` feature).
#[derive(Clone)]
pub(crate) struct DerivedKey {
    pub(crate) id: u32,
    pub(crate) cipher: Aes256Gcm,
    pub(crate) signer: Hmac<Sha256>,
    pub(crate) id_signer: Hmac<Sha256>,
}

impl DerivedKey {
    fn derive(key: &Key) -> Self {
        let hkdf = Hkdf::<Sha256>::new(Some(b"sessions-v1"), &key.secret);
        let sub_key = |purpose: &[u8]| {
            let mut bytes = Zeroizing::new([0u8; 32]);
            hkdf.expand(purpose, &mut bytes[..])
                .expect("32 bytes is a valid HKDF-SHA256 output length");
            bytes
        };
        let mut id = [0u8; 4];
        hkdf.expand(b"key id", &mut id)
            .expect("4 bytes is a valid HKDF-SHA256 output length");
        Self {
            id: u32::from_be_bytes(id),
            cipher: Aes256Gcm::new_from_slice(&sub_key(b"seal")[..]).expect("AES-256 takes a 32-byte key"),
            signer: <Hmac<Sha256> as Mac>::new_from_slice(&sub_key(b"sign")[..])
                .expect("HMAC takes a key of any length"),
            id_signer: <Hmac<Sha256> as Mac>::new_from_slice(&sub_key(b"session id")[..])
                .expect("HMAC takes a key of any length"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused_with_their_length() {
        let err = Key::from_bytes(&[1; 31]).unwrap_err();
        assert_eq!(err, KeyError::TooShort { len: 31, min: 32 });
        assert!(err.to_string().contains("31 bytes"));
    }

    #[test]
    fn base64_keys_accept_both_alphabets_with_or_without_padding() {
        let bytes: Vec<u8> = (0u8..48).map(|b| b.wrapping_mul(37)).collect();
        let standard = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bytes);
        let a = Keys::new(Key::from_base64(&standard).unwrap());
        let b = Keys::new(Key::from_base64(&format!(" {url}\n")).unwrap());
        assert_eq!(a.primary().id, b.primary().id);
        assert_eq!(Key::from_base64("not base64!").unwrap_err(), KeyError::NotBase64);
    }

    #[test]
    fn different_secrets_get_different_ids_and_debug_never_shows_bytes() {
        let keys =
            Keys::new(Key::from_bytes(&[1; 32]).unwrap()).with_fallback(Key::from_bytes(&[2; 32]).unwrap());
        let ids: Vec<u32> = std::iter::once(keys.primary())
            .chain(&keys.fallbacks)
            .map(|k| k.id)
            .collect();
        assert_ne!(ids[0], ids[1]);
        assert_eq!(keys.with_id(ids[1]).count(), 1);
        assert_eq!(keys.with_id(ids[0] ^ ids[1] ^ 1).count(), 0);
        let printed = format!("{keys:?}");
        assert!(printed.contains(&format!("{:08x}", ids[1])), "{printed}");
        assert!(!printed.contains("[1, 1"), "{printed}");
    }
}
