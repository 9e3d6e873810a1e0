//! A session type and a loaded session: the [`Session`] trait, which `#[derive(Session)]`
//! implements, and [`Loaded`], what a [`Store`](crate::Store) hands a request, with what happened to
//! the session on its way in ([`Origin`], [`ResetField`]).

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{OnceLock, PoisonError, RwLock};

pub use crate::codec::snapshot::{ResetField, ResetReason};
pub use crate::field::{Field, FieldValue};
pub use crate::loaded::{Loaded, Origin};

use crate::config::Config;
use crate::error::FieldError;
use crate::owner::key::OwnerKey;
use crate::prepared::Prepared;

/// A typed session: a plain struct whose fields travel in one cookie (or one server-side record).
///
/// Derive it; the derive checks the `#[session(...)]` options at compile time and generates this impl:
///
/// ```
/// use sessions::Session;
///
/// #[derive(Session, Default)]
/// #[session(cookie = "app", max_age = "14d", idle_timeout = "2h")]
/// struct AppSession {
///     user_id: Option<u64>,
///     #[flash]
///     notice: Option<String>,
/// }
///
/// assert_eq!(AppSession::CONFIG.cookie().name(), "app");
/// assert_eq!(AppSession::FIELDS[1].name(), "notice");
/// assert!(AppSession::FIELDS[1].is_flash());
/// ```
///
/// Implementing it by hand is possible (see [`Config`] and [`Field`]), but then nothing checks the
/// cookie options.
pub trait Session: Default + Send + Sync + 'static {
    /// The cookie, lifetime and protection of this session type.
    const CONFIG: Config;

    /// One entry per field, in declaration order; `index` below counts in this order.
    const FIELDS: &'static [Field];

    /// Appends the encoded value of field `index` to `out`.
    fn encode_field(&self, index: usize, out: &mut Vec<u8>) -> Result<(), FieldError>;

    /// Replaces field `index` with the value decoded from `bytes`.
    fn decode_field(&mut self, index: usize, bytes: &[u8]) -> Result<(), FieldError>;

    /// The tag of the serde shape of field `index`'s type, or `None` when it cannot be traced (then
    /// the field is tagged by its type's spelling). The runtime calls it once per field, at start-up,
    /// and a stored value whose shape differs resets to its default instead of opening as another
    /// value. The derive generates it; a hand-written impl may leave this default, which tags every
    /// field by its spelling.
    fn shape_tag(index: usize) -> Option<u32> {
        let _ = index;
        None
    }

    /// The value of the `#[owner]` field, when the type has one and it holds a value: server-side
    /// stores index sessions by it, so that an owner's sessions can be listed and revoked (see
    /// [`crate::owner`]). The derive generates it for an `#[owner]` field; the default has no owner.
    fn owner(&self) -> Option<&dyn OwnerKey> {
        None
    }

    /// What the runtime computes once for this type. The derive keeps it in a `static` of the type;
    /// left at this default (a hand-written impl), it is kept in a map by type, one lookup per use.
    #[doc(hidden)]
    fn prepared() -> &'static Prepared {
        by_type::<Self>()
    }
}

/// The prepared data of `S`, computed on first use and kept in `cell`: what the derive calls, with
/// a `static` cell of its own per type.
pub(crate) fn prepare<S: Session>(cell: &'static OnceLock<Prepared>) -> &'static Prepared {
    cell.get_or_init(prepared_now::<S>)
}

/// The prepared data of `S` for a hand-written impl, which has no `static` of its own: computed on
/// first use and kept for good, in a map by type.
fn by_type<S: Session>() -> &'static Prepared {
    static BY_TYPE: OnceLock<RwLock<HashMap<TypeId, &'static Prepared>>> = OnceLock::new();
    let map = BY_TYPE.get_or_init(RwLock::default);
    let type_id = TypeId::of::<S>();
    if let Some(&prepared) = map.read().unwrap_or_else(PoisonError::into_inner).get(&type_id) {
        return prepared;
    }
    // Computed outside the lock: it runs the type's own code (`Default`, `Serialize`).
    let computed = prepared_now::<S>();
    let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
    map.entry(type_id)
        .or_insert_with(|| Box::leak(Box::new(computed)))
}

fn prepared_now<S: Session>() -> Prepared {
    let default = S::default();
    let defaults = (0..S::FIELDS.len()).map(|index| {
        let mut out = Vec::new();
        default.encode_field(index, &mut out).ok()?;
        Some(out.into_boxed_slice())
    });
    let shape_tags = (0..S::FIELDS.len()).map(S::shape_tag);
    Prepared::new(&S::CONFIG, S::FIELDS, defaults.collect(), shape_tags)
}
