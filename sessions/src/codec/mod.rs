//! The wire format: a session to bytes and back.
//!
//! From the bottom: [`payload`] is the plaintext layout (session times, one record per field),
//! [`fields`] the one seam that turns a field's value into bytes, [`shape`] the type tags, [`seal`]
//! the envelope (format version, key id, AES-GCM or HMAC, and the signed id), [`text`] an envelope
//! as cookie text, [`id`] a server-side session's id. Above them, [`snapshot`] ties a session type
//! to a payload, and [`cookie`] a payload to a cookie store's cookie value. Everything here takes and
//! returns plain data.

pub(crate) mod cookie;
mod copy_borrowed;
pub(crate) mod fields;
#[cfg(test)]
mod golden;
pub(crate) mod id;
pub(crate) mod payload;
pub(crate) mod reserved;
pub(crate) mod seal;
pub(crate) mod shape;
pub(crate) mod snapshot;
pub(crate) mod text;
