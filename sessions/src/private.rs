//! What `#[derive(Session)]` expands to calls into this module, and only this module, through
//! `::sessions::__private`. Not a public API: it changes with the derive, which is pinned to this
//! crate's exact version.

pub use std::sync::OnceLock;
pub use std::time::Duration;

pub use crate::config::{Config, SameSite};
pub use crate::error::FieldError;
pub use crate::field::Field;
pub use crate::owner::OwnerKey;
pub use crate::prepared::Prepared;
pub use crate::session::Session;

use serde::Serialize;
use serde::de::DeserializeOwned;

/// What a session field's type must be: owned, `Serialize + DeserializeOwned`, and `Send + Sync`.
///
/// The derive reaches every field's value through this trait, naming the field's type, so a type that
/// cannot be stored gets one error, on the field, saying what a field must be.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a session field",
    label = "a session field's type must be owned, `Serialize` and `Deserialize`, and `Send + Sync`",
    note = "a field's value is copied into the cookie or the store and back: derive `serde::Serialize` and `serde::Deserialize` for your own types, and hold plain data, not `Rc`, `Cell` or references"
)]
pub trait FieldValue: Sized {
    /// Appends the encoding of the value.
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), FieldError>;
    /// Decodes a value.
    fn decode(bytes: &[u8]) -> Result<Self, FieldError>;
    /// The tag of the type's serde shape, or `None` if it cannot be traced.
    fn shape_tag() -> Option<u32>;
}

// `do_not_recommend`: a failing bound is reported as "cannot be stored in a session field" on the
// field's type, not as the serde or auto trait deep inside it.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + Send + Sync + 'static> FieldValue for T {
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), FieldError> {
        crate::codec::fields::encode(self, out)
    }
    fn decode(bytes: &[u8]) -> Result<Self, FieldError> {
        crate::codec::fields::decode(bytes)
    }
    fn shape_tag() -> Option<u32> {
        crate::codec::shape::tag::<T>()
    }
}

/// The prepared data of `S`, computed on first use and kept in the type's own `cell`.
pub fn prepare<S: Session>(cell: &'static OnceLock<Prepared>) -> &'static Prepared {
    crate::session::prepare::<S>(cell)
}

/// The answer to an index past the last field.
pub fn no_such_field(index: usize) -> Result<(), FieldError> {
    Err(FieldError::from(
        Box::<dyn std::error::Error + Send + Sync>::from(format!("no field at index {index}")),
    ))
}

/// Fails the build (the derive calls it in a `const`) if two fields share a name tag. The derive
/// already refuses such a struct with both fields named; this keeps its copy of the tag hash honest.
pub const fn assert_distinct_tags(fields: &[Field]) {
    let mut i = 0;
    while i < fields.len() {
        if fields[i].name_tag() == crate::codec::reserved::SIGNED_IN_TAG {
            panic!(
                "a field of this session has the name tag the store keeps for itself; rename it with `#[session(rename = \"...\")]`"
            );
        }
        let mut j = i + 1;
        while j < fields.len() {
            if fields[i].name_tag() == fields[j].name_tag() {
                panic!(
                    "two fields of this session share a name tag; rename one with `#[session(rename = \"...\")]`"
                );
            }
            j += 1;
        }
        i += 1;
    }
}

/// What an `#[owner]` field must be: `Option<T>` where `T` names an owner.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name the owner of a session",
    label = "an `#[owner]` field must be `Option<T>` where `T: OwnerKey`",
    note = "the integers, `String` and `Box<str>` name owners; for your own id type, implement `sessions::owner::OwnerKey`"
)]
pub trait OwnerField {
    /// The owner the field names, if it holds one.
    fn owner_key(&self) -> Option<&dyn OwnerKey>;
}

#[diagnostic::do_not_recommend]
impl<T: OwnerKey> OwnerField for Option<T> {
    fn owner_key(&self) -> Option<&dyn OwnerKey> {
        self.as_ref().map(|key| key as &dyn OwnerKey)
    }
}

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
