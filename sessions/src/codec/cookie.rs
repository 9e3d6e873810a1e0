//! A cookie store's cookie value: the payload in an envelope, as cookie text. Plain bytes in and
//! out; which session type it is for comes in as its protection and binding.

use std::ops::Range;

use crate::codec::seal::{self, Binding};
use crate::codec::{payload, text};
use crate::config::Protection;
use crate::error::Rejection;
use crate::key::Keys;

/// An opened cookie value: the payload is `buf[payload]`, in today's format.
#[derive(Debug)]
pub(crate) struct Opened {
    pub(crate) buf: Vec<u8>,
    pub(crate) payload: Range<usize>,
    /// Opened with a fallback key, or written in format v1: the cookie is sealed again, with the
    /// primary key and in today's format, on the next save.
    pub(crate) reseal: bool,
}

/// Opens a cookie value sealed or signed for `binding`.
pub(crate) fn open(value: &str, keys: &Keys, binding: &Binding) -> Result<Opened, Rejection> {
    let mut buf = text::decode(value)?;
    let opened = seal::open(&mut buf, keys, binding, &[])?;
    let reseal = opened.by_fallback || opened.version == seal::V1;
    if opened.version == seal::V1 {
        let upgraded = payload::upgrade_v1(&buf[opened.payload]).map_err(|_| Rejection::Malformed)?;
        let len = upgraded.len();
        return Ok(Opened {
            buf: upgraded,
            payload: 0..len,
            reseal,
        });
    }
    Ok(Opened {
        buf,
        payload: opened.payload,
        reseal,
    })
}

/// Seals `buf` (a payload written after [`seal::payload_offset`] bytes) with the primary key, and
/// appends it as a cookie value to `out`. An encrypted payload is padded to whole AES blocks first.
pub(crate) fn seal(
    mut buf: Vec<u8>,
    protection: Protection,
    keys: &Keys,
    binding: &Binding,
    out: &mut String,
) {
    if protection == Protection::Sealed {
        payload::pad_to_block(&mut buf, seal::payload_offset(protection));
    }
    seal::seal(&mut buf, protection, keys.primary(), binding, &[]);
    text::encode(&buf, out);
}

/// The length of the cookie value [`seal`] makes of a `buf_len`-byte buffer.
pub(crate) fn sealed_len(buf_len: usize, protection: Protection) -> usize {
    let offset = seal::payload_offset(protection);
    let payload = buf_len - offset;
    let payload = match protection {
        Protection::Sealed => payload::padded_len(payload),
        Protection::Signed => payload,
    };
    text::encoded_len(offset + payload + seal::trailer_len(protection))
}
