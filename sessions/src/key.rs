//! Secret keys, the sub-keys derived from them, and rotation.
//!
//! One master secret per [`Key`]; HKDF-SHA256 derives a separate sub-key for each purpose (sealing,
//! signing, signing session ids) and a public key id, so a cookie names the key that opens it.

use std::fmt;

use aes_gcm::{Aes256Gcm, KeyInit};
use base64::Engine as _;
use hkdf::Hkdf;
use hmac::Hmac;
use hmac::digest::KeyInit as MacKeyInit;
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

    /// A key from raw secret bytes; refused when shorter than [`Key::MIN_LEN`], or when plainly not
    /// random (one byte repeated, a short pattern repeated, a handful of distinct bytes).
    pub fn from_bytes(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < Self::MIN_LEN {
            return Err(KeyError::TooShort {
                len: secret.len(),
                min: Self::MIN_LEN,
            });
        }
        if let Some(reason) = weakness(secret) {
            return Err(KeyError::Weak { reason });
        }
        Ok(Self {
            secret: Zeroizing::new(secret.to_vec()),
        })
    }

    /// A key from base64 text (standard or URL-safe alphabet, padded or not, with any whitespace in
    /// it), as kept in an environment variable such as `SESSION_KEY`. The output of
    /// `openssl rand -base64 64`, which spans two lines, is taken as it is.
    pub fn from_base64(text: &str) -> Result<Self, KeyError> {
        let text: Zeroizing<String> =
            Zeroizing::new(text.chars().filter(|c| !c.is_ascii_whitespace()).collect());
        let text = text.trim_end_matches('=');
        let engine = if text.contains(['-', '_']) {
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
        } else {
            &base64::engine::general_purpose::STANDARD_NO_PAD
        };
        let secret = Zeroizing::new(engine.decode(text).map_err(|_| KeyError::NotBase64)?);
        Self::from_bytes(&secret)
    }

    /// The key in the environment variable `name`, as [`Key::from_base64`] reads it. The errors name
    /// the variable, and never show its value.
    ///
    /// ```
    /// let error = sessions::Key::from_env("SESSIONS_DOC_NO_SUCH_VARIABLE").unwrap_err();
    /// assert!(error.to_string().contains("`SESSIONS_DOC_NO_SUCH_VARIABLE` is not set"));
    /// ```
    pub fn from_env(name: &str) -> Result<Self, KeyError> {
        Self::from_var(name, std::env::var(name))
    }

    /// [`Key::from_env`] given what reading the variable gave.
    fn from_var(name: &str, value: Result<String, std::env::VarError>) -> Result<Self, KeyError> {
        let text = Zeroizing::new(value.map_err(|error| match error {
            std::env::VarError::NotPresent => KeyError::MissingVar { name: name.into() },
            std::env::VarError::NotUnicode(_) => KeyError::BadVar {
                name: name.into(),
                problem: Box::new(KeyError::NotBase64),
            },
        })?);
        Self::from_base64(&text).map_err(|problem| KeyError::BadVar {
            name: name.into(),
            problem: Box::new(problem),
        })
    }

    /// [`Key::from_env`], except that when the variable is not set, a debug build (`debug_assertions`)
    /// generates a key and logs a warning (sessions then end with the process), while a release build
    /// refuses with [`KeyError::MissingVar`]: a release that starts without its key would sign
    /// everybody out at every restart, and lose every session a fleet shares.
    pub fn from_env_or_generate(name: &str) -> Result<Self, KeyError> {
        match Self::from_env(name) {
            Err(KeyError::MissingVar { .. }) if cfg!(debug_assertions) => {
                tracing::warn!(
                    variable = name,
                    "no session key is set; using a key generated for this run (debug builds only)"
                );
                Ok(Self::generate())
            }
            result => result,
        }
    }

    /// A fresh random 64-byte key from a CSPRNG seeded by the operating system, for tests and development.
    pub fn generate() -> Self {
        let mut secret = Zeroizing::new(vec![0; 64]);
        rand::fill(&mut secret[..]);
        Self { secret }
    }
}

/// Why `secret` is plainly not random, if it is: what a typo, a placeholder or a test value looks like.
/// (Randomness cannot be proven; this only catches the obvious.)
fn weakness(secret: &[u8]) -> Option<&'static str> {
    const MAX_PERIOD: usize = 16;
    const MIN_DISTINCT: usize = 8;
    if secret.iter().all(|&byte| byte == secret[0]) {
        return Some("it is one byte repeated");
    }
    if (2..=MAX_PERIOD).any(|period| secret[period..].iter().zip(secret).all(|(a, b)| a == b)) {
        return Some("it is a short pattern repeated");
    }
    let mut seen = [false; 256];
    for &byte in secret {
        seen[usize::from(byte)] = true;
    }
    if seen.iter().filter(|&&seen| seen).count() < MIN_DISTINCT {
        return Some("it has fewer than 8 different byte values");
    }
    None
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

    /// The fallback keys, in the order they were added.
    pub(crate) fn fallbacks(&self) -> &[DerivedKey] {
        &self.fallbacks
    }

    /// The keys whose id is `id`, primary first. Two different secrets share an id with a chance of one in
    /// 2^32, so this is almost always zero or one key, and never a search through every key.
    pub(crate) fn with_id(&self, id: u32) -> impl Iterator<Item = &DerivedKey> {
        std::iter::once(&self.primary)
            .chain(&self.fallbacks)
            .filter(move |key| key.id == id)
    }
}

/// One key, with no fallback: what every store's constructor takes for `impl Into<Keys>`.
impl From<Key> for Keys {
    fn from(primary: Key) -> Self {
        Self::new(primary)
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
    /// Signs ids into the handles of session listings ([`crate::owner::Handle`]).
    pub(crate) handle_signer: Hmac<Sha256>,
    /// Keys the owner digests a backend indexes by ([`crate::owner::OwnerDigest`]).
    pub(crate) owner_signer: Hmac<Sha256>,
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
            signer: <Hmac<Sha256> as MacKeyInit>::new_from_slice(&sub_key(b"sign")[..])
                .expect("HMAC takes a key of any length"),
            id_signer: <Hmac<Sha256> as MacKeyInit>::new_from_slice(&sub_key(b"session id")[..])
                .expect("HMAC takes a key of any length"),
            handle_signer: <Hmac<Sha256> as MacKeyInit>::new_from_slice(&sub_key(b"session handle")[..])
                .expect("HMAC takes a key of any length"),
            owner_signer: <Hmac<Sha256> as MacKeyInit>::new_from_slice(&sub_key(b"owner index")[..])
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
        let keys = Keys::new(Key::from_bytes(&counting(1)).unwrap())
            .with_fallback(Key::from_bytes(&counting(2)).unwrap());
        let ids: Vec<u32> = std::iter::once(keys.primary())
            .chain(&keys.fallbacks)
            .map(|k| k.id)
            .collect();
        assert_ne!(ids[0], ids[1]);
        assert_eq!(keys.with_id(ids[1]).count(), 1);
        assert_eq!(keys.with_id(ids[0] ^ ids[1] ^ 1).count(), 0);
        let printed = format!("{keys:?}");
        assert!(printed.contains(&format!("{:08x}", ids[1])), "{printed}");
        assert!(!printed.contains("[1, 2"), "{printed}");
    }

    /// 32 bytes counting up from `start`: not random, but not plainly patterned either.
    fn counting(start: u8) -> Vec<u8> {
        (0..32).map(|i| start.wrapping_add(i * 7)).collect()
    }

    #[test]
    fn the_two_lines_of_openssl_rand_base64_64_are_one_key() {
        let bytes: Vec<u8> = (0u8..64).map(|b| b.wrapping_mul(151).wrapping_add(3)).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let (first, second) = text.split_at(64);
        let two_lines = format!("{first}\n{second}\n");
        let with_crlf_and_tabs = format!("\t{first}\r\n {second}");
        let expected = Keys::new(Key::from_bytes(&bytes).unwrap()).primary().id;
        for text in [two_lines, with_crlf_and_tabs] {
            assert_eq!(Keys::new(Key::from_base64(&text).unwrap()).primary().id, expected);
        }
    }

    #[test]
    fn plainly_patterned_keys_are_refused_with_the_reason() {
        let cases: [(Vec<u8>, &str); 4] = [
            (vec![7; 32], "one byte repeated"),
            (b"abcd".repeat(8), "short pattern"),
            (b"0123456789abcdef".repeat(4), "short pattern"),
            (
                // The digits of pi, folded onto five letters: no pattern, but five byte values.
                b"3141592653589793238462643383279502884197"
                    .iter()
                    .map(|d| b'a' + (d - b'0') % 5)
                    .collect(),
                "fewer than 8",
            ),
        ];
        for (secret, reason) in cases {
            let error = Key::from_bytes(&secret).unwrap_err();
            assert!(error.to_string().contains(reason), "{error}");
            assert!(error.to_string().contains("openssl rand -base64 64"));
        }
        assert!(Key::from_bytes(&counting(0)).is_ok());
    }

    #[test]
    fn an_environment_key_error_names_the_variable_and_never_its_value() {
        let name = "SESSIONS_TEST_KEY_THAT_IS_NEVER_SET";
        assert_eq!(
            Key::from_env(name).unwrap_err(),
            KeyError::MissingVar { name: name.into() }
        );
        for value in ["hunter2hunter2", "aGVsbG8=", "c2hvcnQ=\n"] {
            let error = Key::from_var(name, Ok(value.into())).unwrap_err();
            assert!(matches!(&error, KeyError::BadVar { name: n, .. } if n == name));
            assert!(error.to_string().contains(name), "{error}");
            assert!(!error.to_string().contains(value.trim()), "{error}");
        }
        let good = base64::engine::general_purpose::STANDARD.encode(counting(5));
        assert!(Key::from_var(name, Ok(good)).is_ok());
    }
}
