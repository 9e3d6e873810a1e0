//! [`OwnerKey`]: what an `#[owner]` field holds, written as the bytes that name an owner.

/// What an `#[owner]` field holds (inside its `Option`): a value that names one user, written as the
/// same bytes every time. Implemented for the integers, `String`, `str` and `Box<str>`; implement it
/// for your own id type by writing what names it.
///
/// ```
/// use sessions::owner::OwnerKey;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct UserId(u64);
///
/// impl OwnerKey for UserId {
///     fn write_key(&self, out: &mut Vec<u8>) {
///         self.0.write_key(out)
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot name the owner of a session",
    label = "an owner is named by an integer, a string, or a type that implements `OwnerKey`",
    note = "the integers, `String` and `Box<str>` name owners; for your own id type, implement `sessions::owner::OwnerKey`"
)]
pub trait OwnerKey {
    /// Appends the bytes that name this owner: equal owners write equal bytes.
    fn write_key(&self, out: &mut Vec<u8>);

    /// This key as a trait object, for the code `#[derive(Session)]` generates: named through
    /// this public trait, a type that names no owner is reported as not implementing `OwnerKey`.
    #[doc(hidden)]
    fn __as_dyn(&self) -> &dyn OwnerKey
    where
        Self: Sized,
    {
        self
    }
}

macro_rules! integer_owner_keys {
    ($($int:ty)*) => {$(
        impl OwnerKey for $int {
            fn write_key(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_be_bytes());
            }
        }
    )*};
}
integer_owner_keys!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

impl OwnerKey for str {
    fn write_key(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.as_bytes());
    }
}

impl OwnerKey for String {
    fn write_key(&self, out: &mut Vec<u8>) {
        self.as_str().write_key(out);
    }
}

impl OwnerKey for Box<str> {
    fn write_key(&self, out: &mut Vec<u8>) {
        (**self).write_key(out);
    }
}

impl<T: OwnerKey + ?Sized> OwnerKey for &T {
    fn write_key(&self, out: &mut Vec<u8>) {
        (**self).write_key(out);
    }
}
