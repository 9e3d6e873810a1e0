//! The 32-bit tag each field's value is stored under: FNV-1a of its stored name, as the runtime's
//! `Field::new` computes it. The derive computes it too, to refuse two fields with one tag by name; a
//! `const` assertion in the generated code (`__private::assert_distinct_tags`) checks the runtime's
//! own tags, so the two copies cannot drift apart unnoticed.

/// 32-bit FNV-1a of `name`.
pub(crate) fn name_tag(name: &str) -> u32 {
    name.bytes().fold(0x811c_9dc5, |hash: u32, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_reference_vectors_and_a_known_collision() {
        assert_eq!(name_tag(""), 0x811c_9dc5);
        assert_eq!(name_tag("a"), 0xe40c_292c);
        assert_eq!(name_tag("foobar"), 0xbf9c_f968);
        assert_eq!(name_tag("costarring"), name_tag("liquid"));
    }
}
