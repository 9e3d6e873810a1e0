//! The one place that knows how a field's value becomes bytes: bincode 2 through its serde API.
//!
//! Swapping the value format means changing this file and bumping the envelope version; stores and
//! the rest of the codec only see bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FieldError;

/// The most a decoded value may allocate: what a record can hold.
const DECODE_LIMIT: usize = crate::codec::payload::MAX_VALUE_LEN;

/// Appends to a `Vec` through bincode's own writer trait (its `std::io::Write` adapter costs more).
struct Append<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for Append<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Appends `value`'s encoding to `out`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), FieldError> {
    bincode::serde::encode_into_writer(value, Append(out), bincode::config::standard())
        .map_err(|err| FieldError::from(Box::new(err) as Box<_>))
}

/// Decodes a whole value from `bytes`; trailing bytes are an error, since they mean a different type
/// wrote them.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    let (value, read) = bincode::serde::decode_from_slice(bytes, config)
        .map_err(|err| FieldError::from(Box::new(err) as Box<_>))?;
    if read != bytes.len() {
        return Err(FieldError::from(
            Box::<dyn std::error::Error + Send + Sync>::from(format!(
                "{} bytes left over after decoding the value",
                bytes.len() - read
            )),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_a_different_type_is_refused() {
        let mut out = Vec::new();
        encode(&Some("hello".to_string()), &mut out).unwrap();
        assert_eq!(decode::<Option<String>>(&out).unwrap().as_deref(), Some("hello"));
        assert!(decode::<(u8, bool)>(&out).is_err());
        assert!(decode::<Option<String>>(&out[..out.len() - 1]).is_err());
    }
}
