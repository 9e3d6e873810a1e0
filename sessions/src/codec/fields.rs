//! The one place that knows how a field's value becomes bytes: bincode 2 through its serde API.
//!
//! Swapping the value format means changing this file and bumping the envelope version; stores and
//! the rest of the codec only see bytes.

use std::marker::PhantomData;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::codec::copy_borrowed::CopyBorrowed;
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
/// wrote them. Strings and byte buffers are copied out of `bytes` (see [`CopyBorrowed`]).
pub(crate) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, FieldError> {
    let config = bincode::config::standard().with_limit::<DECODE_LIMIT>();
    let seed = CopyBorrowed(PhantomData::<T>);
    let (value, read) = bincode::serde::seed_decode_from_slice(seed, bytes, config)
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

    /// Bytes through `serialize_bytes` and `deserialize_byte_buf`, as `serde_bytes::ByteBuf` does.
    #[derive(Debug, PartialEq)]
    struct Buffer(Vec<u8>);

    impl Serialize for Buffer {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            serializer.serialize_bytes(&self.0)
        }
    }

    impl<'de> serde::Deserialize<'de> for Buffer {
        fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            struct BufferVisitor;
            impl serde::de::Visitor<'_> for BufferVisitor {
                type Value = Buffer;
                fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                    formatter.write_str("bytes")
                }
                fn visit_bytes<E: serde::de::Error>(self, bytes: &[u8]) -> Result<Buffer, E> {
                    Ok(Buffer(bytes.to_vec()))
                }
            }
            deserializer.deserialize_byte_buf(BufferVisitor)
        }
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    enum Shape {
        Unit,
        Newtype(String),
        Tuple(String, char),
        Struct { name: String, bytes: Buffer },
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Wrapper(String);

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Marker;

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct EveryShape {
        text: String,
        empty: String,
        maybe: Option<String>,
        nothing: Option<String>,
        list: Vec<String>,
        map: std::collections::BTreeMap<String, Vec<String>>,
        shapes: Vec<Shape>,
        wrapped: Wrapper,
        marker: Marker,
        tuple: (String, u16, bool),
        numbers: (i8, i16, i32, i64, i128, u8, u32, u64, u128, f32, f64),
        bytes: Buffer,
    }

    #[test]
    fn every_serde_shape_decodes_as_bincode_itself_decodes_it() {
        let value = EveryShape {
            text: "crème brûlée".into(),
            empty: String::new(),
            maybe: Some("tea".into()),
            nothing: None,
            list: vec!["a".into(), "bb".into(), "ccc".into()],
            map: [("k".to_owned(), vec!["v".to_owned()])].into(),
            shapes: vec![
                Shape::Unit,
                Shape::Newtype("n".into()),
                Shape::Tuple("t".into(), 'é'),
                Shape::Struct {
                    name: "s".into(),
                    bytes: Buffer(vec![0, 255, 7]),
                },
            ],
            wrapped: Wrapper("w".into()),
            marker: Marker,
            tuple: ("x".into(), 9, true),
            numbers: (-1, -2, -3, -4, -5, 6, 7, 8, 9, 1.5, -2.25),
            bytes: Buffer(b"raw".to_vec()),
        };
        let mut out = Vec::new();
        encode(&value, &mut out).unwrap();
        let (theirs, _): (EveryShape, usize) =
            bincode::serde::decode_from_slice(&out, bincode::config::standard()).unwrap();
        assert_eq!(theirs, value);
        assert_eq!(decode::<EveryShape>(&out).unwrap(), value);
        for cut in 0..out.len() {
            assert!(decode::<EveryShape>(&out[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn a_string_that_is_not_utf8_is_refused() {
        let mut out = Vec::new();
        encode(&Buffer(vec![b'a', 0xff]), &mut out).unwrap();
        assert!(decode::<String>(&out).is_err());
    }
}
