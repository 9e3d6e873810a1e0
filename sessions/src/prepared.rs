//! What the runtime derives once per session type from its [`Config`](crate::config::Config), so
//! requests do not redo it. Internal: the derive reaches it through `__private`.

use crate::codec::reserved::SERIAL_TAG;
use crate::codec::seal::Binding;
use crate::codec::shape::SHAPE_BIT;
use crate::config::Config;
use crate::field::Field;
use crate::headers;

/// A session type's cookie attributes, formatted once by the `cookie` crate, the bytes its cookies
/// are bound to, and per field the encoding of its default value and its type tag.
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
    /// The name tag of the `#[owner]` field, if the type has one.
    pub(crate) owner_tag: Option<u32>,
    /// The name tags of what a listing shows: the `#[listed]` fields, and a session's serial (for
    /// a type with an owner).
    pub(crate) listed_tags: Box<[u32]>,
}

impl Prepared {
    /// The prepared data of a session type with `config` and `fields`, given the encodings of its
    /// fields' default values and the tags of their types' shapes (`None` where a shape cannot be
    /// traced: the field is tagged by its type's spelling).
    pub(crate) fn new(
        config: &Config,
        fields: &[Field],
        defaults: Box<[Option<Box<[u8]>>]>,
        shape_tags: impl Iterator<Item = Option<u32>>,
    ) -> Self {
        Prepared {
            binding: Binding::new(config.cookie().name(), config.type_name()),
            attributes: headers::attributes(config.cookie()),
            defaults,
            type_tags: fields
                .iter()
                .zip(shape_tags)
                .map(|(field, shape)| match shape {
                    // The bit again, for a hand-written `shape_tag`: it is what tells a shape tag
                    // from a spelling tag on the wire.
                    Some(shape) => shape | SHAPE_BIT,
                    None => u32::from(field.type_tag()),
                })
                .collect(),
            owner_tag: fields.iter().find(|field| field.is_owner()).map(Field::name_tag),
            // A listing shows the `#[listed]` fields, and knows a session by its serial.
            listed_tags: fields
                .iter()
                .filter(|field| field.is_listed())
                .map(Field::name_tag)
                .chain(fields.iter().any(Field::is_owner).then_some(SERIAL_TAG))
                .collect(),
        }
    }
}
