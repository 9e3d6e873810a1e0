//! [`OwnerDigest`]: an owner as a backend indexes it, keyed so that the index names nobody.

use std::fmt;

use hmac::Mac as _;

use crate::key::{DerivedKey, Keys};
use crate::owner::Owner;

/// An [`Owner`] as a backend indexes it: an HMAC-SHA-256 (cut to 128 bits) of the owner under a
/// sub-key of the store's key, so a copy of the store (a backup, a Redis dump) does not say who
/// is signed in, even to someone holding a list of every user's email address.
///
/// A store indexes under its primary key's digest. After a key rotation, sessions saved before it
/// stay indexed under the former primary's digest until their next save moves them; so does an
/// index written by a build before keyed digests, under the unkeyed digest ([`Owner::unkeyed`]). Listing
/// and revoking read every one of an owner's digests ([`Owner::digests`]), the unkeyed one
/// included, so neither a rotation nor an upgrade hides a session from "sign out everywhere".
///
/// ```
/// use sessions::owner::{Owner, OwnerDigest};
/// use sessions::{Key, Keys, Session};
///
/// #[derive(Session, Default)]
/// struct Account {
///     #[owner]
///     user_id: Option<u64>,
/// }
///
/// let keys = Keys::new(Key::generate());
/// let digest = Owner::of::<Account>(&7u64).digest(&keys);
/// // What a file name, a Redis key or an SQL column holds, and reads back:
/// assert_eq!(OwnerDigest::from_text(&digest.to_text()), Some(digest));
/// // Another key, another digest: the index is the store's own.
/// assert_ne!(Owner::of::<Account>(&7u64).digest(&Keys::new(Key::generate())), digest);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OwnerDigest([u8; 16]);

impl OwnerDigest {
    /// The digest of `owner` under `key`.
    pub(crate) fn keyed(owner: &Owner, key: &DerivedKey) -> Self {
        let mut mac = key.owner_signer.clone();
        mac.update(owner.as_bytes());
        let mut digest = [0; 16];
        digest.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        Self(digest)
    }

    /// The digest's 16 bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The digest from its bytes, as a backend stored them.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// The digest as 32 lowercase hex digits: safe in a file name, a Redis key or an SQL column.
    pub fn to_text(&self) -> String {
        self.0.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Parses [`OwnerDigest::to_text`]'s form (as a backend reads it back from a file name or a
    /// column); anything else is `None`.
    pub fn from_text(text: &str) -> Option<Self> {
        if text.len() != 32 || !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut bytes = [0; 16];
        for (byte, pair) in bytes.iter_mut().zip(text.as_bytes().chunks(2)) {
            *byte = u8::from_str_radix(std::str::from_utf8(pair).ok()?, 16).ok()?;
        }
        Some(Self(bytes))
    }
}

impl fmt::Debug for OwnerDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OwnerDigest({})", self.to_text())
    }
}

impl Owner {
    /// The digest a store sealing with `keys` indexes this owner by now: under its primary key.
    pub fn digest(&self, keys: &Keys) -> OwnerDigest {
        OwnerDigest::keyed(self, keys.primary())
    }

    /// The digest a build before keyed digests indexed this owner by: not keyed. Read, never written.
    pub fn unkeyed(&self) -> OwnerDigest {
        OwnerDigest(*self.as_bytes())
    }

    /// Every digest an index may hold this owner under, the primary key's last: under each
    /// fallback key (sessions saved before a rotation, until their next save), and
    /// [`Owner::unkeyed`]. Sessions only ever move to the last one, so a revocation that goes
    /// through these in order misses none that moves meanwhile.
    pub fn digests(&self, keys: &Keys) -> Vec<OwnerDigest> {
        let mut digests = Vec::with_capacity(keys.len() + 1);
        digests.push(self.unkeyed());
        digests.extend(keys.fallbacks().iter().map(|key| OwnerDigest::keyed(self, key)));
        digests.push(self.digest(keys));
        digests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digests_read_back_only_their_own_text() {
        let digest = OwnerDigest::from_bytes([0xab; 16]);
        assert_eq!(OwnerDigest::from_text(&digest.to_text()), Some(digest));
        let upper = digest.to_text().to_uppercase();
        for bad in [
            "",
            &"0".repeat(31),
            &"g".repeat(32),
            &upper,
            "../../../../../../etc/passwd00",
        ] {
            assert_eq!(OwnerDigest::from_text(bad), None, "{bad:?}");
        }
    }
}
