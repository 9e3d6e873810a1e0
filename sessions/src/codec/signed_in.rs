//! The record a cookie session with an owner carries on a store with revocations: whom it was signed
//! in as, and that owner's revocation mark at the time (see [`crate::store::Revocations`]).
//!
//! ```text
//! name_tag  u32 LE   SIGNED_IN_TAG, a tag no field of a session has
//! type_tag  u32 LE   0
//! value     owner digest (16 bytes), mark (u64 BE)
//! ```
//! It stands after the fields, as a record of a field the session does not have would, so an
//! instance of an older release carries it along unread.

use crate::field::fnv1a;
use crate::owner::Owner;

/// The name tag of the record: the tag of a name no Rust field can have.
pub(crate) const SIGNED_IN_TAG: u32 = fnv1a("\0signed in");

/// The record's type tag.
pub(crate) const SIGNED_IN_TYPE_TAG: u32 = 0;

/// Whom a session was signed in as, under which revocation mark of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignedIn {
    pub(crate) owner: Owner,
    pub(crate) mark: u64,
}

impl SignedIn {
    /// The record's value.
    pub(crate) fn encode(&self) -> [u8; 24] {
        let mut value = [0; 24];
        value[..16].copy_from_slice(self.owner.as_bytes());
        value[16..].copy_from_slice(&self.mark.to_be_bytes());
        value
    }

    /// A record's value read back; `None` unless it has the form [`SignedIn::encode`] writes.
    pub(crate) fn decode(value: &[u8]) -> Option<Self> {
        let value: &[u8; 24] = value.try_into().ok()?;
        let (owner, mark) = value.split_at(16);
        Some(Self {
            owner: Owner::from_bytes(owner.try_into().ok()?),
            mark: u64::from_be_bytes(mark.try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The record's bytes, pinned: what older instances carry along and newer ones read.
    #[test]
    fn the_record_is_pinned() {
        assert_eq!(SIGNED_IN_TAG, 0x1d62_14b2);
        let signed_in = SignedIn {
            owner: Owner::from_bytes(*b"0123456789abcdef"),
            mark: 0x0102_0304_0506_0708,
        };
        assert_eq!(
            &signed_in.encode(),
            b"0123456789abcdef\x01\x02\x03\x04\x05\x06\x07\x08"
        );
    }

    /// A session restored from a payload holding the record keeps it, and writes it again at the
    /// end of the next payload; a payload without it has none.
    #[test]
    fn a_payload_carries_the_record_through_a_save() {
        use crate::codec::payload::Meta;
        use crate::codec::snapshot;

        #[derive(crate::Session, Default)]
        struct Account {
            #[owner]
            user: Option<u64>,
        }
        let meta = Meta {
            created_at: 1_700_000_000,
            refreshed_at: 1_700_000_000,
            persistent: true,
        };
        let signed_in = SignedIn {
            owner: Owner::of::<Account>(&7u64),
            mark: 42,
        };
        let value = Account { user: Some(7) };
        for record in [None, Some(signed_in)] {
            let mut payload = Vec::new();
            snapshot::encode(&value, None, (meta, record), &mut payload, |_| {}).unwrap();
            let len = payload.len();
            let restored = snapshot::restore::<Account>(payload, 0..len, meta.created_at).unwrap();
            assert_eq!(restored.snapshot.signed_in, record);
            assert!(restored.snapshot.foreign.is_empty());
        }
    }

    #[test]
    fn the_record_reads_back_only_its_own_form() {
        let signed_in = SignedIn {
            owner: Owner::from_bytes([7; 16]),
            mark: 1_700_000_000_123_456,
        };
        assert_eq!(SignedIn::decode(&signed_in.encode()), Some(signed_in));
        for bad in [&[][..], &[0; 23], &[0; 25]] {
            assert_eq!(SignedIn::decode(bad), None);
        }
    }
}
