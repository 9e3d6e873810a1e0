//! A field type's serde shape, as a 31-bit tag: what a stored value means, not how its type is
//! spelled.
//!
//! The tag covers what decides how bincode's bytes read back: primitive kinds and integer widths,
//! options, sequences, maps and tuples, and for every struct and enum the names and order of its fields
//! and variants and the shapes inside them. Reordering an enum's variants or a struct's fields, or
//! retyping anything inside them, changes the tag (the stored value resets); respelling a type
//! (`Vec<u32>` for `std::vec::Vec<u32>`, a renamed struct, `HashMap` for `BTreeMap`) does not.
//!
//! It is traced once per type, at start-up, by deserializing the type from a deserializer that makes
//! up values and writes down what was asked for (the approach of `serde-reflection`). An enum can only
//! be asked for one variant at a time, so tracing repeats until every variant of every enum reached has
//! been seen. A type whose `Deserialize` refuses made-up values (a string parsed into a UUID) or asks
//! for a self-describing format (`deserialize_any`: untagged enums, `flatten`) cannot be traced:
//! [`tag`] is `None`, and the caller falls back to the tag of the type's spelling.

use std::fmt;

use serde::de::value::U32Deserializer;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer as _, Visitor};
use sha2::{Digest as _, Sha256};

/// The top bit of every shape tag, so that it never equals a spelling tag (16 bits).
pub(crate) const SHAPE_BIT: u32 = 1 << 31;

/// Tracing gives up past this many passes, or containers nested this deep.
const MAX_PASSES: usize = 1024;
const MAX_DEPTH: usize = 64;

/// The shape tag of `T`, or `None` if its shape cannot be traced.
pub(crate) fn tag<T: DeserializeOwned>() -> Option<u32> {
    let mut tracer = Tracer::default();
    let mut top = None;
    for _ in 0..MAX_PASSES {
        tracer.out.push(Frame::default());
        T::deserialize(&mut tracer).ok()?;
        let frame = tracer.out.pop()?;
        top.get_or_insert(frame.shape);
        if !tracer.incomplete() {
            return Some(tracer.digest(&top?));
        }
    }
    None
}

#[derive(Default)]
struct Tracer {
    /// Where shape bytes go: the top level, or the content of the enum variant being explored.
    out: Vec<Frame>,
    /// Every enum met so far, in the order first met; referred to by that position.
    enums: Vec<Enum>,
    /// The structs and enums being traced, outermost first, to notice a type that contains itself.
    containers: Vec<(&'static str, usize)>,
    /// Above zero: inside a type that contains itself, or an enum variant already recorded. Values
    /// are made as small as possible (no elements, `None`) and nothing is recorded.
    quiet: usize,
    depth: usize,
}

#[derive(Default)]
struct Frame {
    shape: Vec<u8>,
    /// Enums met directly in this frame.
    children: Vec<usize>,
    /// Whether the frame met a type that contains itself.
    recursive: bool,
}

struct Enum {
    name: &'static str,
    variants: &'static [&'static str],
    /// Each variant's content, once traced.
    seen: Vec<Option<Frame>>,
}

impl Tracer {
    fn emit(&mut self, bytes: &[u8]) {
        if self.quiet == 0
            && let Some(frame) = self.out.last_mut()
        {
            frame.shape.extend_from_slice(bytes);
        }
    }

    /// Whether some enum reachable from what was traced still has a variant not seen.
    fn incomplete(&self) -> bool {
        (0..self.enums.len()).any(|index| self.enum_incomplete(index, &mut Vec::new()))
    }

    fn enum_incomplete(&self, index: usize, visiting: &mut Vec<usize>) -> bool {
        if visiting.contains(&index) {
            return false;
        }
        visiting.push(index);
        let incomplete = self.enums[index].seen.iter().any(|seen| match seen {
            None => true,
            Some(frame) => frame
                .children
                .iter()
                .any(|&child| self.enum_incomplete(child, visiting)),
        });
        visiting.pop();
        incomplete
    }

    fn digest(&self, top: &[u8]) -> u32 {
        let mut digest = Sha256::new();
        digest.update(b"sessions shape v1\0");
        digest.update(top);
        for (index, found) in self.enums.iter().enumerate() {
            digest.update(format!("\0enum {index}:").as_bytes());
            for (name, seen) in found.variants.iter().zip(&found.seen) {
                digest.update(name.as_bytes());
                digest.update(b"=");
                digest.update(seen.as_ref().map_or(&[][..], |frame| &frame.shape));
                digest.update(b";");
            }
        }
        let hash = digest.finalize();
        u32::from_le_bytes([hash[0], hash[1], hash[2], hash[3]]) | SHAPE_BIT
    }

    /// Enters a named container; `true` when it is already being traced (it contains itself), in which
    /// case the caller traces it quietly.
    fn enter(&mut self, name: &'static str, identity: usize) -> Result<bool, Error> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Error("nested too deep"));
        }
        let position = self.containers.iter().position(|&c| c == (name, identity));
        if let Some(position) = position {
            self.emit(format!("R{position};").as_bytes());
            if let Some(frame) = self.out.last_mut() {
                frame.recursive = true;
            }
        }
        self.containers.push((name, identity));
        Ok(position.is_some())
    }

    fn leave(&mut self) {
        self.containers.pop();
        self.depth -= 1;
    }

    /// Traces a named struct (`identity` tells apart two of one name): its shape between `open` and
    /// `close`, or, inside itself, only a reference to the enclosing one, quietly.
    fn named<T>(
        &mut self,
        name: &'static str,
        identity: usize,
        open: &str,
        close: &[u8],
        visit: impl FnOnce(&mut Self) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let recursive = self.enter(name, identity)?;
        self.quiet += usize::from(recursive);
        self.emit(open.as_bytes());
        let value = visit(self);
        self.emit(close);
        self.quiet -= usize::from(recursive);
        self.leave();
        value
    }

    /// Which variant of enum `index` to make this time, and how: explore one not seen yet; revisit a
    /// seen one that leads to an enum still incomplete; or make a small one quietly.
    fn choose(&mut self, index: usize, recursive: bool) -> (u32, Visit) {
        let found = &self.enums[index];
        if !recursive && self.quiet == 0 {
            if let Some(unseen) = found.seen.iter().position(Option::is_none) {
                return (unseen as u32, Visit::Explore);
            }
            let leads_on = found.seen.iter().position(|seen| {
                seen.as_ref().is_some_and(|frame| {
                    frame
                        .children
                        .iter()
                        .any(|&child| self.enum_incomplete(child, &mut vec![index]))
                })
            });
            if let Some(variant) = leads_on {
                return (variant as u32, Visit::Revisit);
            }
        }
        // Quietly: a variant seen to end without containing its own type, else the last one (the
        // `Nil` of a list).
        let small = found
            .seen
            .iter()
            .position(|seen| seen.as_ref().is_some_and(|frame| !frame.recursive));
        let variant = small.unwrap_or(found.variants.len().saturating_sub(1));
        (variant as u32, Visit::Quiet)
    }
}

/// How an enum variant is traced.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Visit {
    /// Its content is recorded as the variant's shape.
    Explore,
    /// Traced again, not recorded, to reach enums inside it.
    Revisit,
    /// Made as small as possible.
    Quiet,
}

#[derive(Debug)]
struct Error(&'static str);

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Error {}

impl de::Error for Error {
    fn custom<T: fmt::Display>(_: T) -> Self {
        Error("the type refused a made-up value")
    }
}

macro_rules! primitives {
    ($($method:ident => $visit:ident($value:expr), $token:literal;)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
                self.emit($token);
                visitor.$visit($value)
            }
        )*
    };
}

impl<'de> de::Deserializer<'de> for &mut Tracer {
    type Error = Error;

    // Numbers are made as 1, not 0, so that types that refuse zero (`NonZeroU32`) trace.
    primitives! {
        deserialize_bool => visit_bool(false), b"bool;";
        deserialize_i8 => visit_i8(1), b"i8;";
        deserialize_i16 => visit_i16(1), b"i16;";
        deserialize_i32 => visit_i32(1), b"i32;";
        deserialize_i64 => visit_i64(1), b"i64;";
        deserialize_i128 => visit_i128(1), b"i128;";
        deserialize_u8 => visit_u8(1), b"u8;";
        deserialize_u16 => visit_u16(1), b"u16;";
        deserialize_u32 => visit_u32(1), b"u32;";
        deserialize_u64 => visit_u64(1), b"u64;";
        deserialize_u128 => visit_u128(1), b"u128;";
        deserialize_f32 => visit_f32(1.0), b"f32;";
        deserialize_f64 => visit_f64(1.0), b"f64;";
        deserialize_char => visit_char('a'), b"char;";
        deserialize_str => visit_str(""), b"str;";
        deserialize_string => visit_string(String::new()), b"str;";
        deserialize_bytes => visit_bytes(&[]), b"bytes;";
        deserialize_byte_buf => visit_byte_buf(Vec::new()), b"bytes;";
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        self.emit(b"unit;");
        visitor.visit_unit()
    }

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error("a self-describing type has no fixed shape"))
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error("a self-describing type has no fixed shape"))
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
        Err(Error("identifiers belong to self-describing formats"))
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        if self.quiet > 0 {
            return visitor.visit_none();
        }
        self.emit(b"option(");
        let value = visitor.visit_some(&mut *self)?;
        self.emit(b");");
        Ok(value)
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.emit(b"unit_struct;");
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.named(name, 0, "newtype(", b");", |tracer| {
            visitor.visit_newtype_struct(&mut *tracer)
        })
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let len = usize::from(self.quiet == 0);
        self.emit(b"seq(");
        let value = visitor.visit_seq(Elements::new(self, len, None));
        self.emit(b");");
        value
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        self.emit(format!("tuple{len}(").as_bytes());
        let value = visitor.visit_seq(Elements::new(self, len, None));
        self.emit(b");");
        value
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.named(name, len, &format!("tuple_struct{len}("), b");", |tracer| {
            visitor.visit_seq(Elements::new(tracer, len, None))
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Error> {
        let len = usize::from(self.quiet == 0);
        self.emit(b"map(");
        let value = visitor.visit_map(Entries {
            tracer: self,
            left: len,
        });
        self.emit(b");");
        value
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.named(name, fields.as_ptr() as usize, "struct{", b"};", |tracer| {
            visitor.visit_seq(Elements::new(tracer, fields.len(), Some(fields)))
        })
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        if variants.is_empty() {
            return Err(Error("an enum without variants has no value"));
        }
        let index = match self
            .enums
            .iter()
            .position(|found| found.name == name && std::ptr::eq(found.variants, variants))
        {
            Some(index) => index,
            None => {
                self.enums.push(Enum {
                    name,
                    variants,
                    seen: variants.iter().map(|_| None).collect(),
                });
                self.enums.len() - 1
            }
        };
        self.emit(format!("enum{index};").as_bytes());
        if let Some(frame) = self.out.last_mut() {
            frame.children.push(index);
        }
        let recursive = self.enter(name, variants.as_ptr() as usize)?;
        let (variant, visit) = self.choose(index, recursive);
        let value = match visit {
            Visit::Explore => {
                self.out.push(Frame::default());
                let value = visitor.visit_enum(Variant {
                    tracer: &mut *self,
                    variant,
                });
                let frame = self.out.pop().unwrap_or_default();
                self.enums[index].seen[variant as usize] = Some(frame);
                value
            }
            Visit::Revisit => {
                // Traced again for the enums inside; what it records is thrown away.
                self.out.push(Frame::default());
                let value = visitor.visit_enum(Variant {
                    tracer: &mut *self,
                    variant,
                });
                self.out.pop();
                value
            }
            Visit::Quiet => {
                self.quiet += 1;
                let value = visitor.visit_enum(Variant {
                    tracer: &mut *self,
                    variant,
                });
                self.quiet -= 1;
                value
            }
        };
        self.leave();
        value
    }

    fn is_human_readable(&self) -> bool {
        false // as bincode
    }
}

/// The elements of a sequence, tuple or struct, each traced in turn; a struct's field names are
/// recorded before their shapes.
struct Elements<'a> {
    tracer: &'a mut Tracer,
    next: usize,
    len: usize,
    names: Option<&'static [&'static str]>,
}

impl<'a> Elements<'a> {
    fn new(tracer: &'a mut Tracer, len: usize, names: Option<&'static [&'static str]>) -> Self {
        Self {
            tracer,
            next: 0,
            len,
            names,
        }
    }
}

impl<'de> de::SeqAccess<'de> for Elements<'_> {
    type Error = Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Error> {
        if self.next == self.len {
            return Ok(None);
        }
        if let Some(name) = self.names.and_then(|names| names.get(self.next)) {
            self.tracer.emit(name.as_bytes());
            self.tracer.emit(b":");
        }
        self.next += 1;
        seed.deserialize(&mut *self.tracer).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len - self.next)
    }
}

/// A map of `left` entries (one, or none when quiet).
struct Entries<'a> {
    tracer: &'a mut Tracer,
    left: usize,
}

impl<'de> de::MapAccess<'de> for Entries<'_> {
    type Error = Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Error> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        seed.deserialize(&mut *self.tracer).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Error> {
        self.tracer.emit(b"=>");
        seed.deserialize(&mut *self.tracer)
    }
}

/// The chosen variant of an enum, and its content.
struct Variant<'a> {
    tracer: &'a mut Tracer,
    variant: u32,
}

impl<'de> de::EnumAccess<'de> for Variant<'_> {
    type Error = Error;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Error> {
        let identifier: U32Deserializer<Error> = self.variant.into_deserializer();
        Ok((seed.deserialize(identifier)?, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_> {
    type Error = Error;

    fn unit_variant(self) -> Result<(), Error> {
        self.tracer.emit(b"unit;");
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Error> {
        self.tracer.emit(b"newtype(");
        let value = seed.deserialize(&mut *self.tracer);
        self.tracer.emit(b");");
        value
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Error> {
        self.tracer.emit(format!("tuple{len}(").as_bytes());
        let value = visitor.visit_seq(Elements::new(&mut *self.tracer, len, None));
        self.tracer.emit(b");");
        value
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Error> {
        self.tracer.emit(b"struct{");
        let value = visitor.visit_seq(Elements::new(&mut *self.tracer, fields.len(), Some(fields)));
        self.tracer.emit(b"};");
        value
    }
}

#[cfg(test)]
mod tests {
    //! Pairs of types: the tag must tell apart those whose stored bytes mean different values, and
    //! must not tell apart mere respellings. The types are only ever traced, never read.
    #![allow(dead_code)]

    use std::collections::{BTreeMap, HashMap};

    use serde::Deserialize;

    use super::*;

    fn of<T: DeserializeOwned>() -> u32 {
        tag::<T>().expect("traceable")
    }

    mod before {
        use serde::Deserialize;

        #[derive(Deserialize)]
        pub enum Role {
            User,
            Admin,
        }
        #[derive(Deserialize)]
        pub struct Prefs {
            pub a: u32,
            pub b: u32,
        }
        #[derive(Deserialize)]
        pub enum Grant {
            Read,
            Write { scope: super::Scope },
        }
    }

    mod after {
        use serde::Deserialize;

        #[derive(Deserialize)]
        pub enum Role {
            Admin,
            User,
        }
        #[derive(Deserialize)]
        pub struct Prefs {
            pub b: u32,
            pub a: u32,
        }
        #[derive(Deserialize)]
        pub enum Grant {
            Read,
            Write { scope: super::WideScope },
        }
    }

    #[derive(Deserialize)]
    enum Scope {
        Own(u32),
        All,
    }

    #[derive(Deserialize)]
    enum WideScope {
        Own(u64),
        All,
    }

    #[derive(Deserialize)]
    struct Preferences {
        a: u32,
        b: u32,
    }

    #[test]
    fn reordered_variants_and_fields_change_the_tag() {
        assert_ne!(of::<before::Role>(), of::<after::Role>());
        assert_ne!(of::<before::Prefs>(), of::<after::Prefs>());
        assert_ne!(of::<Option<before::Role>>(), of::<Option<after::Role>>());
    }

    #[test]
    fn a_change_deep_inside_a_variant_changes_the_tag() {
        assert_ne!(of::<before::Grant>(), of::<after::Grant>());
        assert_ne!(of::<Vec<before::Grant>>(), of::<Vec<after::Grant>>());
    }

    #[test]
    fn widths_signs_and_containers_change_the_tag() {
        let tags = [
            of::<u32>(),
            of::<u64>(),
            of::<i32>(),
            of::<Option<u32>>(),
            of::<Vec<u32>>(),
            of::<(u32, u32)>(),
            of::<[u32; 3]>(),
            of::<BTreeMap<u32, u32>>(),
            of::<String>(),
            of::<bool>(),
        ];
        for (i, a) in tags.iter().enumerate() {
            for b in &tags[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn respellings_keep_the_tag() {
        assert_eq!(of::<Vec<u32>>(), of::<std::vec::Vec<u32>>());
        assert_eq!(of::<before::Prefs>(), of::<Preferences>(), "a renamed struct");
        assert_eq!(of::<HashMap<String, u8>>(), of::<BTreeMap<String, u8>>());
        assert_eq!(of::<String>(), of::<Box<str>>());
    }

    #[derive(Deserialize)]
    struct Tree {
        children: Vec<Tree>,
        label: Option<before::Role>,
    }

    #[derive(Deserialize)]
    enum List {
        Cons(u32, Box<List>),
        Nil,
    }

    #[derive(Deserialize)]
    enum Expr {
        Lit(i64),
        Add(Box<Expr>, Box<Expr>),
        Neg(Box<Expr>),
    }

    #[test]
    fn types_that_contain_themselves_trace() {
        assert_eq!(of::<Tree>(), of::<Tree>());
        assert_ne!(of::<List>(), of::<Expr>());
        assert_ne!(of::<Expr>(), of::<Option<Expr>>());
    }

    #[test]
    fn every_variant_of_a_nested_enum_counts() {
        #[derive(Deserialize)]
        enum Outer {
            A,
            B(Option<Inner>),
        }
        #[derive(Deserialize)]
        enum Inner {
            X,
            Y(u8),
        }
        #[derive(Deserialize)]
        enum OuterWide {
            A,
            B(Option<InnerWide>),
        }
        #[derive(Deserialize)]
        enum InnerWide {
            X,
            Y(u16),
        }
        assert_ne!(of::<Outer>(), of::<OuterWide>());
    }

    #[test]
    fn types_that_refuse_made_up_values_or_describe_themselves_do_not_trace() {
        struct Parsed;
        impl<'de> Deserialize<'de> for Parsed {
            fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse::<u8>().map(|_| Parsed).map_err(de::Error::custom)
            }
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Loose {
            Number(u32),
            Text(String),
        }
        assert_eq!(tag::<Parsed>(), None);
        assert_eq!(tag::<Loose>(), None);
        assert!(tag::<std::num::NonZeroU32>().is_some(), "numbers are made as 1");
    }

    #[test]
    fn every_tag_has_the_shape_bit() {
        assert_ne!(of::<u8>() & SHAPE_BIT, 0);
    }
}
