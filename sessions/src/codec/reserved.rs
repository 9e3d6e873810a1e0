//! The store's own records in a payload, after the fields, under name tags no field has: an
//! instance of an older release carries them along unread, as it does a field it does not know.
//!
//! - The sign-in record: on a cookie store with revocations, whom a session with an owner was
//!   signed in as (the [`OwnerDigest`](crate::owner::OwnerDigest) the mark was read under, keyed
//!   by the store's primary key then; unkeyed from a build before keyed digests), and that
//!   owner's revocation mark at the time (see [`crate::store::backend::Revocations`]).
//! - The serial: on a server-side store, what a session with an owner is known by in listings
//!   ([`crate::owner::Handle`]); unlike its id, it stays the same through `cycle_id`.
//!
//! ```text
//! name_tag  u32 LE   SIGNED_IN_TAG          SERIAL_TAG
//! type_tag  u32 LE   0                      0
//! value              owner digest (16),     16 random bytes
//!                    mark (u64 BE)
//! ```

use crate::field::fnv1a;

/// The name tag of the sign-in record: the tag of a name no Rust field can have.
pub(crate) const SIGNED_IN_TAG: u32 = fnv1a("\0signed in");

/// The name tag of the serial.
pub(crate) const SERIAL_TAG: u32 = fnv1a("\0serial");

/// The type tag of both records.
pub(crate) const RESERVED_TYPE_TAG: u32 = 0;

/// The store's own records of a payload, each if it holds one. Boxed, and nothing at all when
/// there are none (as on every cookie session without an owner): inline, the two made every
/// session 56 bytes larger, and a cookie session's load and save 0.85% more instructions, in copies
/// (callgrind).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Reserved(Option<Box<Records>>);

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Records {
    signed_in: Option<SignedIn>,
    serial: Option<Serial>,
}

impl Reserved {
    pub(crate) fn signed_in(&self) -> Option<SignedIn> {
        self.0.as_ref().and_then(|records| records.signed_in)
    }

    pub(crate) fn serial(&self) -> Option<Serial> {
        self.0.as_ref().and_then(|records| records.serial)
    }

    pub(crate) fn set_signed_in(&mut self, signed_in: Option<SignedIn>) {
        self.edit(|records| records.signed_in = signed_in);
    }

    pub(crate) fn set_serial(&mut self, serial: Option<Serial>) {
        self.edit(|records| records.serial = serial);
    }

    fn edit(&mut self, change: impl FnOnce(&mut Records)) {
        let mut records = self.0.as_deref().copied().unwrap_or_default();
        change(&mut records);
        self.0 = (records != Records::default()).then(|| Box::new(records));
    }

    /// How many records these are.
    pub(crate) fn count(&self) -> usize {
        usize::from(self.signed_in().is_some()) + usize::from(self.serial().is_some())
    }

    /// Takes `value`, the value of a record tagged `tag`, if it is one of these; whether it was.
    /// One that does not read is as good as none.
    pub(crate) fn read(&mut self, tag: u32, value: &[u8]) -> bool {
        match tag {
            SIGNED_IN_TAG => self.set_signed_in(SignedIn::decode(value)),
            SERIAL_TAG => self.set_serial(value.try_into().ok().map(Serial)),
            _ => return false,
        }
        true
    }
}

/// What a session with an owner is known by in listings, through `cycle_id`: 16 random bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Serial(pub(crate) [u8; 16]);

impl Serial {
    pub(crate) fn random() -> Self {
        let mut bytes = [0; 16];
        crate::random::fill(&mut bytes);
        Self(bytes)
    }
}

/// Whom a session was signed in as (the bytes of their [`crate::owner::Owner`]), under which
/// revocation mark of theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SignedIn {
    pub(crate) owner: [u8; 16],
    pub(crate) mark: u64,
}

impl SignedIn {
    /// The record's value.
    pub(crate) fn encode(&self) -> [u8; 24] {
        let mut value = [0; 24];
        value[..16].copy_from_slice(&self.owner);
        value[16..].copy_from_slice(&self.mark.to_be_bytes());
        value
    }

    /// A record's value read back; `None` unless it has the form [`SignedIn::encode`] writes.
    pub(crate) fn decode(value: &[u8]) -> Option<Self> {
        let value: &[u8; 24] = value.try_into().ok()?;
        let (owner, mark) = value.split_at(16);
        Some(Self {
            owner: owner.try_into().ok()?,
            mark: u64::from_be_bytes(mark.try_into().ok()?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The records' tags and the sign-in record's bytes, pinned: what older instances carry along
    /// and newer ones read.
    #[test]
    fn the_records_are_pinned() {
        assert_eq!(SIGNED_IN_TAG, 0x1d62_14b2);
        assert_eq!(SERIAL_TAG, 0x0e61_97c3);
        let signed_in = SignedIn {
            owner: *b"0123456789abcdef",
            mark: 0x0102_0304_0506_0708,
        };
        assert_eq!(
            &signed_in.encode(),
            b"0123456789abcdef\x01\x02\x03\x04\x05\x06\x07\x08"
        );
    }

    /// A payload holding the records gives them back, and none of them as a field this version
    /// does not know; a payload without them has none.
    #[test]
    fn a_payload_carries_the_records_through_a_save() {
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
            owner: *crate::owner::Owner::of::<Account>(&7u64).as_bytes(),
            mark: 42,
        };
        let value = Account { user: Some(7) };
        let mut both = Reserved::default();
        both.set_signed_in(Some(signed_in));
        both.set_serial(Some(Serial([9; 16])));
        for reserved in [Reserved::default(), both] {
            let mut payload = Vec::new();
            snapshot::encode(&value, None, (meta, &reserved), &mut payload, |_| {}).unwrap();
            let len = payload.len();
            let restored = snapshot::restore::<Account>(payload, 0..len, meta.created_at).unwrap();
            assert_eq!(restored.snapshot.reserved, reserved);
            assert!(restored.snapshot.foreign.is_empty());
        }
    }

    #[test]
    fn the_record_reads_back_only_its_own_form() {
        let signed_in = SignedIn {
            owner: [7; 16],
            mark: 1_700_000_000_123_456,
        };
        assert_eq!(SignedIn::decode(&signed_in.encode()), Some(signed_in));
        for bad in [&[][..], &[0; 23], &[0; 25]] {
            assert_eq!(SignedIn::decode(bad), None);
        }
    }
}
