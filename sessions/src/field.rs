//! [`Field`]: what the runtime knows about one field of a session type, and the tags it is stored
//! under; [`FieldValue`]: what a field's type must be.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FieldError;

/// What the runtime knows about one field of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    name: &'static str,
    name_tag: u32,
    type_tag: u16,
    flash: bool,
    owner: bool,
    listed: bool,
    max_age: Option<Duration>,
}

impl Field {
    /// A plain field called `name`, of the type spelled `type_name`.
    ///
    /// The wire format stores each value under a tag of its name, with a tag of its type: the tag of the
    /// type's serde shape where [`Session::shape_tag`](crate::Session::shape_tag) gives one, else a 16-bit tag of `type_name`, the
    /// spelling. A field renamed or retyped between two deploys reads as absent or resets to its
    /// default, and every other field survives.
    pub const fn new(name: &'static str, type_name: &'static str) -> Self {
        Self {
            name,
            name_tag: fnv1a(name),
            // The spelling only notices a respelled type, not a changed one (an enum reordered keeps its
            // name): the tag of last resort, for types whose shape cannot be traced, and the only tag
            // of format v1.
            type_tag: fold(fnv1a(type_name)),
            flash: false,
            owner: false,
            listed: false,
            max_age: None,
        }
    }

    /// Stores the field under `stored_name` instead of its name: its name tag follows `stored_name`, so a
    /// field renamed in Rust keeps its stored value, and two names whose tags collide can be told apart.
    /// `#[session(rename = "...")]` on a derived field calls this.
    pub const fn stored_as(mut self, stored_name: &'static str) -> Self {
        self.name_tag = fnv1a(stored_name);
        self
    }

    /// Marks the field as flash: it keeps its value until the app takes it.
    pub const fn flash(mut self) -> Self {
        self.flash = true;
        self
    }

    /// Marks the field as the session's owner (see [`crate::owner`]): stores find its value in a
    /// stored session by this flag, and [`Session::owner`](crate::Session::owner) must return the
    /// same field's value. `#[owner]` on a derived field sets both.
    pub const fn owner(mut self) -> Self {
        self.owner = true;
        self
    }

    /// Marks the field as listed: its value is kept beside the session's times for the list of an
    /// owner's sessions, which reads it without opening the session.
    pub const fn listed(mut self) -> Self {
        self.listed = true;
        self
    }

    /// Gives the field its own lifetime: it resets to its default once `max_age` has passed since its
    /// value last changed. At most [`Config::MAX_LIFETIME`](crate::config::Config::MAX_LIFETIME).
    pub const fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = Some(crate::config::clamp_lifetime(max_age));
        self
    }

    /// The field's name.
    pub const fn name(&self) -> &'static str {
        self.name
    }
    /// Whether the field is a flash field.
    pub const fn is_flash(&self) -> bool {
        self.flash
    }
    /// Whether the field names the session's owner.
    pub const fn is_owner(&self) -> bool {
        self.owner
    }
    /// Whether the field shows in the list of an owner's sessions.
    pub const fn is_listed(&self) -> bool {
        self.listed
    }
    /// The field's own lifetime, if it has one.
    pub const fn lifetime(&self) -> Option<Duration> {
        self.max_age
    }

    pub(crate) const fn name_tag(&self) -> u32 {
        self.name_tag
    }
    pub(crate) const fn type_tag(&self) -> u16 {
        self.type_tag
    }
}

/// What the type of a session field must be: owned, `Serialize` and `Deserialize` (every such type
/// is a `FieldValue`), and `Send + Sync`, which `#[derive(Session)]` requires of each field on its own.
/// A field's value is copied into the cookie or the store and back, so a field holds plain data:
/// not an `Rc`, a `Cell` or a reference.
///
/// ```compile_fail
/// #[derive(sessions::Session, Default)]
/// struct AppSession {
///     // error: `Instant` cannot be stored in a session field
///     started: Option<std::time::Instant>,
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored in a session field",
    label = "a session field's type must be owned, `Serialize` and `Deserialize`",
    note = "a field's value is copied into the cookie or the store and back: derive `serde::Serialize` and `serde::Deserialize` for your own types, and hold plain data, not `Rc`, `Cell` or references"
)]
pub trait FieldValue: Sized {
    /// Appends the encoding of the value.
    #[doc(hidden)]
    fn encode(&self, out: &mut Vec<u8>) -> Result<(), FieldError>;
    /// Decodes a value.
    #[doc(hidden)]
    fn decode(bytes: &[u8]) -> Result<Self, FieldError>;
    /// The tag of the type's serde shape, or `None` if it cannot be traced.
    #[doc(hidden)]
    fn shape_tag() -> Option<u32>;
}

// `do_not_recommend`: a failing bound is reported as "cannot be stored in a session field" on the
// field's type, not as the serde trait deep inside it.
#[diagnostic::do_not_recommend]
impl<T: Serialize + DeserializeOwned + 'static> FieldValue for T {
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

/// 32-bit FNV-1a, evaluated at compile time for field tags. Not a security boundary: tags only tell
/// fields apart inside an authenticated payload.
pub(crate) const fn fnv1a(text: &str) -> u32 {
    let bytes = text.as_bytes();
    let mut hash: u32 = 0x811c_9dc5;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u32;
        hash = hash.wrapping_mul(0x0100_0193);
        i += 1;
    }
    hash
}

/// XOR-folds a 32-bit hash to 16 bits, keeping the influence of every bit.
const fn fold(hash: u32) -> u16 {
    (hash >> 16) as u16 ^ hash as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_follow_name_and_type_separately() {
        let a = Field::new("cart", "Vec<u32>");
        let renamed = Field::new("basket", "Vec<u32>");
        let retyped = Field::new("cart", "Vec<u64>");
        assert_eq!(a.type_tag(), renamed.type_tag());
        assert_ne!(a.name_tag(), renamed.name_tag());
        assert_eq!(a.name_tag(), retyped.name_tag());
        assert_ne!(a.type_tag(), retyped.type_tag());
        // The reference vector of FNV-1a 32.
        assert_eq!(fnv1a("a"), 0xe40c_292c);
    }
}
