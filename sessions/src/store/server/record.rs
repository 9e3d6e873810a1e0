//! Server-side sessions at rest, sealed with AES-256-GCM and bound to the session type and id, in one
//! of two shapes: a whole record (the payload sealed at once), or entries (the session's times sealed
//! alone, and each field's record sealed alone, bound also to which entry it is) for backends that
//! merge on the server, field by field. A backend never sees a field's value; anything copied under
//! another id or entry, changed, or cut short does not open.

use std::ops::Range;

use crate::codec::id::SessionId;
use crate::codec::payload;
use crate::codec::seal::{self, Binding};
use crate::config::Protection;
use crate::error::Rejection;
use crate::key::Keys;

/// Which part of a session a sealed value is: a whole record, or one of its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// The whole payload.
    Whole,
    /// The session's times.
    Meta,
    /// One field's record, by the field's tag.
    Field(u32),
    /// A forward left under an old id by a save that moved the session to a new one.
    Forward,
    /// What a listing of its owner's sessions shows: the session's times and its `#[listed]` fields.
    Summary,
}

impl Part {
    /// What the sealed value is bound to: the session id, and for an entry which entry it is.
    fn subject(self, id: &SessionId) -> ([u8; 21], usize) {
        let mut subject = [0; 21];
        subject[..16].copy_from_slice(id.as_bytes());
        let (kind, tag) = match self {
            Part::Whole => return (subject, 16),
            Part::Meta => (0, 0),
            Part::Field(tag) => (1, tag),
            Part::Forward => (2, 0),
            Part::Summary => (3, 0),
        };
        subject[16] = kind;
        subject[17..].copy_from_slice(&tag.to_le_bytes());
        (subject, 21)
    }
}

/// `plaintext` sealed with the primary key as `part` of session `id`.
pub(crate) fn seal(plaintext: &[u8], part: Part, id: &SessionId, keys: &Keys, binding: &Binding) -> Vec<u8> {
    let offset = seal::payload_offset(Protection::Sealed);
    let mut buf = Vec::with_capacity(offset + plaintext.len() + 16);
    buf.resize(offset, 0);
    buf.extend_from_slice(plaintext);
    let (subject, len) = part.subject(id);
    seal::seal(
        &mut buf,
        Protection::Sealed,
        keys.primary(),
        binding,
        &subject[..len],
    );
    buf
}

/// An opened value: the buffer, where the plaintext is in it (in today's layout), and whether it must be
/// sealed again.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) buf: Vec<u8>,
    pub(crate) plaintext: Range<usize>,
    /// Sealed with a fallback key, or in format v1: to be sealed again at the next save.
    pub(crate) reseal: bool,
}

impl Opened {
    pub(crate) fn plaintext(&self) -> &[u8] {
        &self.buf[self.plaintext.clone()]
    }
}

/// Opens `part` of session `id`. Under a key or in a format this build lacks it is
/// [`Rejection::UnknownKey`] or [`Rejection::UnsupportedVersion`] (another instance's, maybe); anything
/// else that does not open is [`Rejection::Unreadable`].
pub(crate) fn open(
    mut buf: Vec<u8>,
    part: Part,
    id: &SessionId,
    keys: &Keys,
    binding: &Binding,
) -> Result<Opened, Rejection> {
    let (subject, len) = part.subject(id);
    let opened = seal::open(&mut buf, keys, binding, &subject[..len]).map_err(|reason| {
        if reason.is_left_alone() {
            reason
        } else {
            Rejection::Unreadable
        }
    })?;
    if opened.version == seal::V1 {
        let plaintext = &buf[opened.payload];
        let upgraded = match part {
            Part::Field(_) => payload::upgrade_v1_record(plaintext),
            Part::Whole | Part::Meta => payload::upgrade_v1(plaintext),
            // v1 had no forwards and no summaries
            Part::Forward | Part::Summary => return Err(Rejection::Unreadable),
        }
        .map_err(|_| Rejection::Unreadable)?;
        return Ok(Opened {
            plaintext: 0..upgraded.len(),
            buf: upgraded,
            reseal: true,
        });
    }
    Ok(Opened {
        buf,
        plaintext: opened.payload,
        reseal: opened.by_fallback,
    })
}
