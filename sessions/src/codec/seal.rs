//! The envelope: a public header naming the format and the key, then the payload sealed with
//! AES-256-GCM or signed with HMAC-SHA256.
//!
//! ```text
//! sealed: version u8 = 2 | kind u8 = 0 | key_id u32 BE | nonce [12] | ciphertext | tag [16]
//! signed: version u8 = 2 | kind u8 = 1 | key_id u32 BE | payload    | hmac [32]
//! id:     version u8 = 1 | kind u8 = 2 | key_id u32 BE | id [16]    | hmac [16]
//! ```
//! The version names the payload's layout ([`super::payload`]). Version 1, whose type tags were 16
//! bits of the type's spelling, is still opened; [`Opened::version`] says which it was.
//!
//! Nonces are 96 random bits, fresh for every seal (see [`crate::random`]). Random nonces bound how
//! many seals one key may make: after 2^32 of them the chance that two repeat reaches 2^-32, the limit
//! NIST SP 800-38D sets. Rotate a key well before that (four billion saves), for example yearly.
//!
//! The header, the cookie name and the session type's name are authenticated with the payload
//! (associated data for GCM, a prefix of the MAC input for HMAC), so a cookie opens only under the
//! name and type it was made for.
//!
//! The third kind carries a server-side session's id: HMAC-SHA256 under the key's id sub-key,
//! truncated to 128 bits, so a forged or guessed id is refused before any store is asked for it. Ids
//! keep format version 1: version 2 changed only the payload of sealed sessions.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Nonce, Tag};
use hmac::Mac;
use sha2::{Digest, Sha256};

use crate::config::Protection;
use crate::error::Rejection;
use crate::key::{DerivedKey, Keys};

/// The format version this build writes.
pub(crate) const VERSION: u8 = 2;
/// The earlier format version this build still reads.
pub(crate) const V1: u8 = 1;
/// How many versions past its own a build takes for a later release's rather than for garbage.
const NEWER_VERSIONS: u8 = 8;

/// Why an envelope of `version` (not one this build reads; `current` is the newest it does) is
/// refused: a version a later release may write is left for it, any other byte is no envelope at all.
pub(crate) fn unknown_version(version: u8, current: u8) -> Rejection {
    if version > current && version - current <= NEWER_VERSIONS {
        Rejection::UnsupportedVersion
    } else {
        Rejection::Malformed
    }
}
const KIND_SEALED: u8 = 0;
const KIND_SIGNED: u8 = 1;
const KIND_ID: u8 = 2;
/// A server-side session id's length.
pub(crate) const ID_LEN: usize = 16;
const ID_MAC_LEN: usize = 16;
const SIGNED_ID_LEN: usize = HEADER_LEN + ID_LEN + ID_MAC_LEN;
pub(crate) const HEADER_LEN: usize = 6;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const MAC_LEN: usize = 32;

/// What a cookie is bound to besides its key: a digest of the cookie's name and the session type's
/// name, computed once per type. Two of an app's session types would need names whose 80-bit
/// digests collide for one's cookie to open as the other's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Binding([u8; BINDING_LEN]);

/// A binding's length: with the header it fills exactly one 16-byte block of associated data.
const BINDING_LEN: usize = 16 - HEADER_LEN;

impl Binding {
    pub(crate) fn new(cookie_name: &str, type_name: &str) -> Self {
        let mut digest = Sha256::new();
        digest.update(b"sessions binding v1");
        for part in [cookie_name, type_name] {
            digest.update((part.len() as u64).to_be_bytes());
            digest.update(part.as_bytes());
        }
        let digest = digest.finalize();
        let mut binding = [0; BINDING_LEN];
        binding.copy_from_slice(&digest[..BINDING_LEN]);
        Self(binding)
    }

    /// The associated data of an envelope: its header, the binding, and the subject (what a
    /// server-side record or entry belongs to: the session's id, for an entry also which entry), so a
    /// record copied under another id does not open. One block of GHASH for a cookie.
    pub(crate) fn associated_data(&self, header: &[u8; HEADER_LEN], subject: &[u8]) -> AssociatedData {
        let mut bytes = [0; 16 + MAX_SUBJECT_LEN];
        bytes[..HEADER_LEN].copy_from_slice(header);
        bytes[HEADER_LEN..16].copy_from_slice(&self.0);
        let subject = &subject[..subject.len().min(MAX_SUBJECT_LEN)];
        bytes[16..16 + subject.len()].copy_from_slice(subject);
        AssociatedData {
            bytes,
            len: 16 + subject.len(),
        }
    }
}

/// The longest subject: a session id, an entry kind and a field tag.
pub(crate) const MAX_SUBJECT_LEN: usize = 32;

/// Associated data, built on the stack.
pub(crate) struct AssociatedData {
    bytes: [u8; 16 + MAX_SUBJECT_LEN],
    len: usize,
}

impl std::ops::Deref for AssociatedData {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

/// How many bytes to leave before the payload so that [`seal`] works in place.
pub(crate) const fn payload_offset(protection: Protection) -> usize {
    match protection {
        Protection::Sealed => HEADER_LEN + NONCE_LEN,
        Protection::Signed => HEADER_LEN,
    }
}

/// How many bytes [`seal`] appends: the GCM tag or the MAC.
pub(crate) const fn trailer_len(protection: Protection) -> usize {
    match protection {
        Protection::Sealed => TAG_LEN,
        Protection::Signed => MAC_LEN,
    }
}

/// Seals or signs `buf[payload_offset(protection)..]` in place with `key`; fills in the reserved header
/// and appends the tag or MAC.
pub(crate) fn seal(
    buf: &mut Vec<u8>,
    protection: Protection,
    key: &DerivedKey,
    binding: &Binding,
    subject: &[u8],
) {
    let kind = match protection {
        Protection::Sealed => KIND_SEALED,
        Protection::Signed => KIND_SIGNED,
    };
    let mut header = [VERSION, kind, 0, 0, 0, 0];
    header[2..].copy_from_slice(&key.id.to_be_bytes());
    buf[..HEADER_LEN].copy_from_slice(&header);
    let aad = &binding.associated_data(&header, subject);
    match protection {
        Protection::Sealed => {
            let (head, payload) = buf.split_at_mut(HEADER_LEN + NONCE_LEN);
            let nonce = &mut head[HEADER_LEN..];
            crate::random::fill(nonce);
            let tag = key
                .cipher
                .encrypt_in_place_detached(Nonce::from_slice(nonce), aad, payload)
                .expect("AES-GCM seals any payload under 64 GiB");
            buf.extend_from_slice(&tag);
        }
        Protection::Signed => {
            let mut mac = key.signer.clone();
            mac.update(aad);
            mac.update(&buf[HEADER_LEN..]);
            buf.extend_from_slice(&mac.finalize().into_bytes());
        }
    }
}

/// An opened envelope: where the payload is in the buffer, and whether a fallback key opened it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    pub(crate) payload: std::ops::Range<usize>,
    pub(crate) by_fallback: bool,
    /// [`VERSION`] or [`V1`].
    pub(crate) version: u8,
}

/// Verifies (and for sealed envelopes decrypts, in place) the envelope in `buf`.
pub(crate) fn open(
    buf: &mut [u8],
    keys: &Keys,
    binding: &Binding,
    subject: &[u8],
) -> Result<Opened, Rejection> {
    if buf.len() < HEADER_LEN {
        return Err(Rejection::Malformed);
    }
    let version = buf[0];
    if version != VERSION && version != V1 {
        return Err(unknown_version(version, VERSION));
    }
    let kind = buf[1];
    let key_id = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]);
    let trailer = match kind {
        KIND_SEALED => NONCE_LEN + TAG_LEN,
        KIND_SIGNED => MAC_LEN,
        _ => return Err(Rejection::Malformed),
    };
    if buf.len() < HEADER_LEN + trailer {
        return Err(Rejection::Malformed);
    }
    let aad = &binding.associated_data(&[buf[0], buf[1], buf[2], buf[3], buf[4], buf[5]], subject);
    let (payload, by_fallback) = with_key(keys, key_id, |key| match kind {
        KIND_SEALED => open_sealed(buf, key, aad),
        _ => verify_signed(buf, key, aad),
    })?;
    Ok(Opened {
        payload,
        by_fallback,
        version,
    })
}

/// The first of the keys with id `key_id` for which `attempt` succeeds, and whether it is a fallback
/// key. No such key is [`Rejection::UnknownKey`]; keys that all fail are [`Rejection::Tampered`].
fn with_key<T>(
    keys: &Keys,
    key_id: u32,
    mut attempt: impl FnMut(&DerivedKey) -> Option<T>,
) -> Result<(T, bool), Rejection> {
    let mut candidates = keys.with_id(key_id).peekable();
    if candidates.peek().is_none() {
        return Err(Rejection::UnknownKey);
    }
    for key in candidates {
        if let Some(found) = attempt(key) {
            return Ok((found, !std::ptr::eq(key, keys.primary())));
        }
    }
    Err(Rejection::Tampered)
}

/// The envelope of a server-side session's id, signed with `key`.
pub(crate) fn sign_id(id: &[u8; ID_LEN], key: &DerivedKey, binding: &Binding) -> [u8; SIGNED_ID_LEN] {
    let [a, b, c, d] = key.id.to_be_bytes();
    let header = [V1, KIND_ID, a, b, c, d];
    let mut signed = [0; SIGNED_ID_LEN];
    signed[..HEADER_LEN].copy_from_slice(&header);
    signed[HEADER_LEN..HEADER_LEN + ID_LEN].copy_from_slice(id);
    let mac = id_mac(key, binding, &header, id).finalize().into_bytes();
    signed[HEADER_LEN + ID_LEN..].copy_from_slice(&mac[..ID_MAC_LEN]);
    signed
}

/// Checks an envelope made by [`sign_id`]; the id, and whether a fallback key signed it.
pub(crate) fn verify_id(
    buf: &[u8],
    keys: &Keys,
    binding: &Binding,
) -> Result<([u8; ID_LEN], bool), Rejection> {
    let &[version, kind, ..] = buf else {
        return Err(Rejection::Malformed);
    };
    if version != V1 {
        return Err(unknown_version(version, V1));
    }
    let Some((header, rest)) = buf.split_first_chunk::<HEADER_LEN>() else {
        return Err(Rejection::Malformed);
    };
    if kind != KIND_ID || buf.len() != SIGNED_ID_LEN {
        return Err(Rejection::Malformed);
    }
    let (id, mac) = rest.split_first_chunk::<ID_LEN>().ok_or(Rejection::Malformed)?;
    let key_id = u32::from_be_bytes([header[2], header[3], header[4], header[5]]);
    let ((), by_fallback) = with_key(keys, key_id, |key| {
        id_mac(key, binding, header, id).verify_truncated_left(mac).ok()
    })?;
    Ok((*id, by_fallback))
}

fn id_mac(
    key: &DerivedKey,
    binding: &Binding,
    header: &[u8; HEADER_LEN],
    id: &[u8; ID_LEN],
) -> hmac::Hmac<Sha256> {
    let mut mac = key.id_signer.clone();
    mac.update(&binding.associated_data(header, &[]));
    mac.update(id);
    mac
}

fn open_sealed(buf: &mut [u8], key: &DerivedKey, aad: &[u8]) -> Option<std::ops::Range<usize>> {
    let end = buf.len() - TAG_LEN;
    let (head, rest) = buf.split_at_mut(HEADER_LEN + NONCE_LEN);
    let (ciphertext, tag) = rest.split_at_mut(end - HEADER_LEN - NONCE_LEN);
    let nonce = Nonce::from_slice(&head[HEADER_LEN..]);
    key.cipher
        .decrypt_in_place_detached(nonce, aad, ciphertext, Tag::from_slice(tag))
        .ok()?;
    Some(HEADER_LEN + NONCE_LEN..end)
}

fn verify_signed(buf: &[u8], key: &DerivedKey, aad: &[u8]) -> Option<std::ops::Range<usize>> {
    let end = buf.len() - MAC_LEN;
    let mut mac = key.signer.clone();
    mac.update(aad);
    mac.update(&buf[HEADER_LEN..end]);
    mac.verify_slice(&buf[end..]).ok()?;
    Some(HEADER_LEN..end)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;

    fn binding() -> Binding {
        Binding::new("app", "AppSession")
    }

    fn sealed(keys: &Keys, protection: Protection, payload: &[u8]) -> Vec<u8> {
        let mut buf = vec![0; payload_offset(protection)];
        buf.extend_from_slice(payload);
        seal(&mut buf, protection, keys.primary(), &binding(), &[]);
        buf
    }

    #[test]
    fn both_protections_round_trip_and_only_sealed_hides_the_payload() {
        let keys = Keys::new(Key::generate());
        for protection in [Protection::Sealed, Protection::Signed] {
            let mut buf = sealed(&keys, protection, b"secret payload");
            let visible = buf.windows(6).any(|w| w == b"secret");
            assert_eq!(visible, protection == Protection::Signed);
            let opened = open(&mut buf, &keys, &binding(), &[]).unwrap();
            assert_eq!(&buf[opened.payload], b"secret payload");
            assert!(!opened.by_fallback);
        }
    }

    #[test]
    fn another_cookie_name_or_type_does_not_open() {
        let keys = Keys::new(Key::generate());
        for other in [
            Binding::new("app2", "AppSession"),
            Binding::new("app", "OtherSession"),
            // Length prefixes keep a shifted boundary from matching.
            Binding::new("appA", "ppSession"),
        ] {
            for protection in [Protection::Sealed, Protection::Signed] {
                let mut buf = sealed(&keys, protection, b"x");
                assert_eq!(open(&mut buf, &keys, &other, &[]), Err(Rejection::Tampered));
            }
        }
    }

    #[test]
    fn fallback_keys_open_and_say_so_while_unknown_keys_are_named() {
        let old = Key::generate();
        let before = Keys::new(old.clone());
        let rotated = Keys::new(Key::generate()).with_fallback(old);
        let mut buf = sealed(&before, Protection::Sealed, b"x");
        assert!(
            open(&mut buf.clone(), &rotated, &binding(), &[])
                .unwrap()
                .by_fallback
        );
        let stranger = Keys::new(Key::generate());
        assert_eq!(
            open(&mut buf, &stranger, &binding(), &[]),
            Err(Rejection::UnknownKey)
        );
    }

    #[test]
    fn short_or_unknown_envelopes_are_refused_by_kind() {
        let keys = Keys::new(Key::generate());
        assert_eq!(open(&mut [], &keys, &binding(), &[]), Err(Rejection::Malformed));
        for newer in [3, 10] {
            assert_eq!(
                open(&mut [newer, 0, 0, 0, 0, 0], &keys, &binding(), &[]),
                Err(Rejection::UnsupportedVersion)
            );
        }
        for garbage in [0, 11, b'g', 0xff] {
            assert_eq!(
                open(&mut [garbage, 0, 0, 0, 0, 0], &keys, &binding(), &[]),
                Err(Rejection::Malformed)
            );
        }
        assert_eq!(
            open(&mut [VERSION, 7, 0, 0, 0, 0], &keys, &binding(), &[]),
            Err(Rejection::Malformed)
        );
        let mut short = sealed(&keys, Protection::Sealed, b"");
        short.truncate(HEADER_LEN + NONCE_LEN + TAG_LEN - 1);
        assert_eq!(
            open(&mut short, &keys, &binding(), &[]),
            Err(Rejection::Malformed)
        );
    }
}
