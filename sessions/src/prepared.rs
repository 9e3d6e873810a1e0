//! What the runtime derives once per session type from its [`Config`](crate::config::Config), so
//! requests do not redo it. Internal: the derive reaches it through `__private`.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

use crate::codec::seal::Binding;
use crate::codec::shape::SHAPE_BIT;
use crate::http;
use crate::session::Session;

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
}

impl Prepared {
    /// The prepared data of `S`, computed on first use and kept in `cell`: what the derive calls, with
    /// a `static` cell of its own per type.
    pub fn get_or_init<S: Session>(cell: &'static OnceLock<Prepared>) -> &'static Prepared {
        cell.get_or_init(Self::compute::<S>)
    }

    fn compute<S: Session>() -> Self {
        Prepared {
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
        }
    }
}

/// The prepared data of `S` for a hand-written [`Session`] impl, which has no `static` of its own:
/// computed on first use and kept for good, in a map by type.
pub(crate) fn by_type<S: Session>() -> &'static Prepared {
    static BY_TYPE: OnceLock<RwLock<HashMap<TypeId, &'static Prepared>>> = OnceLock::new();
    let map = BY_TYPE.get_or_init(RwLock::default);
    let type_id = TypeId::of::<S>();
    if let Some(&prepared) = map.read().unwrap_or_else(PoisonError::into_inner).get(&type_id) {
        return prepared;
    }
    // Computed outside the lock: it runs the type's own code (`Default`, `Serialize`).
    let computed = Prepared::compute::<S>();
    let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
    map.entry(type_id)
        .or_insert_with(|| Box::leak(Box::new(computed)))
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
