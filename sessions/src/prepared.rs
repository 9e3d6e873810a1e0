//! What the runtime derives once per session type from its [`Config`](crate::Config), so requests do
//! not redo it.

use std::sync::OnceLock;

use crate::codec::seal::Binding;
use crate::codec::shape::SHAPE_BIT;
use crate::http;
use crate::session::Session;

/// A session type's cookie attributes, formatted once by the `cookie` crate, the bytes its cookies
/// are bound to, and per field the encoding of its default value and its type tag.
///
/// `#[derive(Session)]` keeps one in a `static` per type. A hand-written [`Session`] impl does the same:
///
/// ```
/// # use sessions::{Config, Field, FieldError, Prepared, Session};
/// # #[derive(Default)] struct Visits { count: u32 }
/// # impl Session for Visits {
/// #     const CONFIG: Config = Config::new("Visits", "visits");
/// #     const FIELDS: &'static [Field] = &[];
/// #     fn encode_field(&self, _: usize, _: &mut Vec<u8>) -> Result<(), FieldError> { Ok(()) }
/// #     fn decode_field(&mut self, _: usize, _: &[u8]) -> Result<(), FieldError> { Ok(()) }
/// #     fn reset_field(&mut self, _: usize) {}
/// fn prepared() -> &'static Prepared {
///     static PREPARED: std::sync::OnceLock<Prepared> = std::sync::OnceLock::new();
///     Prepared::get_or_init::<Self>(&PREPARED)
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Prepared {
    pub(crate) binding: Binding,
    /// `; HttpOnly; SameSite=Lax; Secure; Path=/` and so on: everything after `name=value` but
    /// `Max-Age`.
    pub(crate) attributes: String,
    /// Each field's value in `S::default()`, encoded (`None` if it does not encode): a new session's
    /// fields are compared with these, and a field with its own `max_age` that holds its default has no
    /// set time, so it never expires.
    pub(crate) defaults: Box<[Option<Box<[u8]>>]>,
    /// Each field's type tag: its shape's, or where that cannot be traced its spelling's (see
    /// [`crate::codec::shape`]).
    pub(crate) type_tags: Box<[u32]>,
}

impl Prepared {
    /// The prepared data of `S`, computed on first use and kept in `cell`.
    pub fn get_or_init<S: Session>(cell: &'static OnceLock<Prepared>) -> &'static Prepared {
        cell.get_or_init(|| Prepared {
            binding: Binding::new(S::CONFIG.cookie().name(), S::CONFIG.type_name()),
            attributes: http::attributes(S::CONFIG.cookie()),
            defaults: default_values::<S>(),
            type_tags: (0..S::FIELDS.len())
                .map(|index| match S::shape_tag(index) {
                    // The bit again, for a hand-written `shape_tag`: it is what tells a shape tag
                    // from a spelling tag on the wire.
                    Some(shape) => shape | SHAPE_BIT,
                    None => u32::from(S::FIELDS[index].type_tag()),
                })
                .collect(),
        })
    }
}

fn default_values<S: Session>() -> Box<[Option<Box<[u8]>>]> {
    let default = S::default();
    (0..S::FIELDS.len())
        .map(|index| {
            let mut out = Vec::new();
            default.encode_field(index, &mut out).ok()?;
            Some(out.into_boxed_slice())
        })
        .collect()
}
