//! What `#[derive(Session)]` expands to calls into this module, and only this module, through
//! `::sessions::__private`. Not a public API: it changes with the derive, which is pinned to this
//! crate's exact version.

pub use std::sync::OnceLock;
pub use std::time::Duration;

pub use crate::config::{Config, SameSite};
pub use crate::error::FieldError;
pub use crate::field::{Field, FieldValue};
pub use crate::owner::OwnerKey;
pub use crate::prepared::Prepared;
pub use crate::session::Session;

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
