//! Server-side sessions at rest, sealed with AES-256-GCM and bound to the session type and id, in one
//! of two shapes: a whole record (the payload sealed at once), or entries (the session's times sealed
//! alone, and each field's record sealed alone, bound also to which entry it is) for backends that
//! merge on the server, field by field. A backend never sees a field's value; anything copied under
//! another id or entry, changed, or cut short does not open.

use std::ops::Range;

use crate::codec::seal::{self, Binding};
use crate::error::Rejection;
use crate::key::Keys;
use crate::options::Protection;
use crate::store::id::SessionId;

/// `payload` sealed with the primary key for the session `id`.
pub(crate) fn seal(payload: &[u8], id: &SessionId, keys: &Keys, binding: &Binding) -> Vec<u8> {
    let offset = seal::payload_offset(Protection::Sealed);
    let mut buf = Vec::with_capacity(offset + payload.len() + 16);
    buf.resize(offset, 0);
    buf.extend_from_slice(payload);
    seal::seal(
        &mut buf,
        Protection::Sealed,
        keys.primary(),
        binding,
        id.as_bytes(),
    );
    buf
}

/// An opened record: the buffer, where the payload is in it, and whether a fallback key sealed it.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) buf: Vec<u8>,
    pub(crate) payload: Range<usize>,
    pub(crate) by_fallback: bool,
}

/// Opens a record stored for session `id`; anything that does not open is [`Rejection::Unreadable`].
pub(crate) fn open(
    mut buf: Vec<u8>,
    id: &SessionId,
    keys: &Keys,
    binding: &Binding,
) -> Result<Opened, Rejection> {
    let opened = seal::open(&mut buf, keys, binding, id.as_bytes()).map_err(|_| Rejection::Unreadable)?;
    Ok(Opened {
        buf,
        payload: opened.payload,
        by_fallback: opened.by_fallback,
    })
}

/// Which entry of a session: its times, or one field's record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    Meta,
    Field(u32),
}

impl Entry {
    /// The session id, then the entry's kind and tag: what the entry is bound to.
    fn subject(self, id: &SessionId) -> [u8; 21] {
        let mut subject = [0; 21];
        subject[..16].copy_from_slice(id.as_bytes());
        let (kind, tag) = match self {
            Entry::Meta => (0, 0),
            Entry::Field(tag) => (1, tag),
        };
        subject[16] = kind;
        subject[17..].copy_from_slice(&tag.to_le_bytes());
        subject
    }
}

/// `plaintext` sealed as `entry` of session `id`.
pub(crate) fn seal_entry(
    plaintext: &[u8],
    entry: Entry,
    id: &SessionId,
    keys: &Keys,
    binding: &Binding,
) -> Vec<u8> {
    let offset = seal::payload_offset(Protection::Sealed);
    let mut buf = Vec::with_capacity(offset + plaintext.len() + 16);
    buf.resize(offset, 0);
    buf.extend_from_slice(plaintext);
    seal::seal(
        &mut buf,
        Protection::Sealed,
        keys.primary(),
        binding,
        &entry.subject(id),
    );
    buf
}

/// Opens `entry` of session `id`: its plaintext, and whether a fallback key sealed it.
pub(crate) fn open_entry(
    mut buf: Vec<u8>,
    entry: Entry,
    id: &SessionId,
    keys: &Keys,
    binding: &Binding,
) -> Option<(Vec<u8>, bool)> {
    let opened = seal::open(&mut buf, keys, binding, &entry.subject(id)).ok()?;
    buf.truncate(opened.payload.end);
    buf.drain(..opened.payload.start);
    Some((buf, opened.by_fallback))
}
