//! What `#[derive(Session)]` expands to calls into this module, and only this module, through
//! `::sessions::__private`. Not a public API: it changes with the derive, which is pinned to this
//! crate's exact version.

pub use core;
pub use std::sync::OnceLock;
pub use std::time::Duration;

pub use crate::error::FieldError;
pub use crate::options::{Config, SameSite};
pub use crate::prepared::Prepared;
pub use crate::session::{Field, Session};

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Appends the encoding of a field's value.
pub fn encode_field<T: Serialize>(value: &T, out: &mut Vec<u8>) -> Result<(), FieldError> {
    crate::codec::fields::encode(value, out)
}

/// Decodes a field's value.
pub fn decode_field<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    crate::codec::fields::decode(bytes)
}

/// The answer to an index past the last field.
pub fn no_such_field(index: usize) -> Result<(), FieldError> {
    Err(FieldError::from(
        Box::<dyn std::error::Error + Send + Sync>::from(format!("no field at index {index}")),
    ))
}

/// Compiles only for a field type that can be stored; the derive calls it with the field's span, so
/// the error lands on the field.
pub const fn assert_storable<T: Serialize + DeserializeOwned>() {}

/// What a `#[flash]` field holds: one message (`Option<T>`) or a list of them (`Vec<T>`).
pub trait Flash: Default {
    /// One message.
    type Message;
    /// Adds a message: replaces the one an `Option` holds, pushes onto a `Vec`.
    fn put(&mut self, message: Self::Message);
}

impl<T> Flash for Option<T> {
    type Message = T;
    fn put(&mut self, message: T) {
        *self = Some(message);
    }
}

impl<T> Flash for Vec<T> {
    type Message = T;
    fn put(&mut self, message: T) {
        self.push(message);
    }
}
