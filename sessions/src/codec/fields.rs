//! The one place that knows how a field's value becomes bytes: bincode 2 through its serde API.
//!
//! Swapping the value format means changing this file and bumping the envelope version; stores and
//! the rest of the codec only see bytes.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::FieldError;

/// The largest encoded value accepted, a little over what a browser stores in a whole cookie.
const VALUE_LIMIT: usize = 8 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard().with_limit::<VALUE_LIMIT>()
}

/// Appends `value`'s encoding to `out`.
pub(crate) fn encode<T: Serialize + ?Sized>(value: &T, out: &mut Vec<u8>) -> Result<(), FieldError> {
    bincode::serde::encode_into_std_write(value, out, config())
        .map(drop)
        .map_err(|err| FieldError::from(Box::new(err) as Box<_>))
}

/// Decodes a whole value from `bytes`; trailing bytes are an error, since they mean a different type
/// wrote them.
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let (value, read) = bincode::serde::decode_from_slice(bytes, config())
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
