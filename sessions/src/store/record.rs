//! Server-side records at rest: a session's payload sealed with AES-256-GCM, bound to the session type
//! and to the session's id. A backend stores these bytes and never sees a field's value; a record
//! copied under another id, changed, or cut short does not open.

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
        Some(id.as_bytes()),
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
    let opened =
        seal::open(&mut buf, keys, binding, Some(id.as_bytes())).map_err(|_| Rejection::Unreadable)?;
    Ok(Opened {
        buf,
        payload: opened.payload,
        by_fallback: opened.by_fallback,
    })
}
