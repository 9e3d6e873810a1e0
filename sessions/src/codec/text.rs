//! An envelope as cookie text: base64url without padding, at most [`MAX_COOKIE_LEN`] characters.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::Rejection;
use crate::headers::MAX_COOKIE_LEN;

/// Decodes a cookie value; one longer than a browser sends is refused before it is decoded.
///
/// Into a `Vec::with_capacity`, since base64's own `decode` allocates with `vec![0; n]`, which is
/// calloc, and glibc serves calloc without its thread cache.
pub(crate) fn decode(value: &str) -> Result<Vec<u8>, Rejection> {
    if value.len() > MAX_COOKIE_LEN {
        return Err(Rejection::Oversized);
    }
    let mut buf = Vec::with_capacity(base64::decoded_len_estimate(value.len()));
    URL_SAFE_NO_PAD
        .decode_vec(value, &mut buf)
        .map_err(|_| Rejection::Malformed)?;
    Ok(buf)
}

/// Appends the cookie value of `envelope` to `out`.
pub(crate) fn encode(envelope: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_string(envelope, out);
}

/// The length of the cookie value of an envelope of `len` bytes.
pub(crate) fn encoded_len(len: usize) -> usize {
    base64::encoded_len(len, false).unwrap_or(usize::MAX)
}
