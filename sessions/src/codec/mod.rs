//! The wire format: a session to bytes and back.
//!
//! [`seal`] is the envelope (format version, key id, AES-GCM or HMAC), [`payload`] the plaintext
//! layout (session times, one record per field), [`fields`] the one seam that turns a field's value into
//! bytes. This module ties them to a [`Loaded`] session: restoring one from a payload, with every
//! expiry checked against the clock, and encoding one back while noting which fields changed.

mod copy_borrowed;
pub(crate) mod fields;
#[cfg(test)]
mod golden;
pub(crate) mod payload;
pub(crate) mod seal;
pub(crate) mod shape;
pub(crate) mod text;

use std::ops::Range;

use crate::config::Protection;
use crate::error::{Rejection, SaveError};
use crate::key::Keys;
use crate::loaded::{Intent, Loaded, Origin, ResetField, ResetReason, Snapshot, SnapshotField};
use crate::session::{Field, Session};
use payload::{Meta, Writer};

/// How far in the future a session's times may lie, for clocks that disagree between servers.
const CLOCK_SKEW_LEEWAY: u64 = 60;

/// Opens a cookie store's cookie value into a session.
pub(crate) fn open_cookie<S: Session>(value: &str, keys: &Keys, now: u64) -> Result<Loaded<S>, Rejection> {
    let mut buf = text::decode(value)?;
    let opened = seal::open(&mut buf, keys, &S::prepared().binding, &[])?;
    let (buf, payload) = if opened.version == seal::V1 {
        let upgraded = payload::upgrade_v1(&buf[opened.payload]).map_err(|_| Rejection::Malformed)?;
        let len = upgraded.len();
        (upgraded, 0..len)
    } else {
        (buf, opened.payload)
    };
    let mut loaded = restore::<S>(buf, payload, now)?;
    // A fallback key's cookie is re-sealed with the primary key, a v1 cookie in today's format.
    loaded.rekey = opened.by_fallback || opened.version == seal::V1;
    Ok(loaded)
}

/// Seals `buf` (a payload written after [`seal::payload_offset`] bytes) with the primary key, and
/// appends it as a cookie value to `out`. An encrypted payload is padded to whole AES blocks first.
pub(crate) fn seal_cookie<S: Session>(mut buf: Vec<u8>, keys: &Keys, out: &mut String) {
    let protection = S::CONFIG.protection();
    if protection == Protection::Sealed {
        payload::pad_to_block(&mut buf, seal::payload_offset(protection));
    }
    seal::seal(&mut buf, protection, keys.primary(), &S::prepared().binding, &[]);
    text::encode(&buf, out);
}

/// The length of the cookie value [`seal_cookie`] makes of a `buf_len`-byte buffer.
pub(crate) fn sealed_cookie_len<S: Session>(buf_len: usize) -> usize {
    let protection = S::CONFIG.protection();
    let offset = seal::payload_offset(protection);
    let payload = buf_len - offset;
    let payload = match protection {
        Protection::Sealed => payload::padded_len(payload),
        Protection::Signed => payload,
    };
    let sealed = offset + payload + seal::trailer_len(protection);
    text::encoded_len(sealed)
}

/// Rebuilds a session from the payload at `buf[payload]`, refusing it if the session has expired or
/// claims to come from the future. A field whose type changed, whose value does not decode, or whose own
/// `max_age` has passed goes back to its default and is listed in [`Loaded::reset_fields`].
pub(crate) fn restore<S: Session>(
    buf: Vec<u8>,
    payload: Range<usize>,
    now: u64,
) -> Result<Loaded<S>, Rejection> {
    let (meta, mut records) = payload::read(&buf[payload]).map_err(|_| Rejection::Malformed)?;
    check_times::<S>(meta, now)?;

    let mut loaded = Loaded::<S>::new(Origin::Restored, now);
    loaded.meta = meta;
    loaded.persistent = meta.persistent;
    let within = |part: &[u8]| -> Range<usize> {
        let start = part.as_ptr() as usize - buf.as_ptr() as usize;
        start..start + part.len()
    };
    let type_tags = &S::prepared().type_tags;
    let mut fields = vec![None; S::FIELDS.len()];
    let mut foreign = Vec::new();
    for (position, record) in records.by_ref().enumerate() {
        let record = record.map_err(|_| Rejection::Malformed)?;
        let Some(index) = field_index::<S>(record.name_tag, position) else {
            foreign.push(within(record.raw));
            continue;
        };
        let field = &S::FIELDS[index];
        let outcome = if !same_type(record.type_tag, type_tags[index], field) {
            Err(ResetReason::TypeChanged)
        } else if let (Some(max_age), Some(set_at)) = (field.lifetime(), record.set_at)
            && now >= set_at.saturating_add(max_age.as_secs())
        {
            Err(ResetReason::Expired)
        } else {
            loaded
                .value
                .decode_field(index, record.value)
                .map_err(|_| ResetReason::Undecodable)
        };
        match outcome {
            Ok(()) => {
                fields[index] = Some(SnapshotField {
                    value: within(record.value),
                    set_at: record.set_at,
                })
            }
            Err(reason) => loaded.resets.push(ResetField {
                field: field.name(),
                reason,
            }),
        }
    }
    records.finish().map_err(|_| Rejection::Malformed)?;
    loaded.snapshot = Snapshot {
        bytes: buf,
        fields,
        foreign,
    };
    Ok(loaded)
}

/// Whether a value stored with type tag `stored` is of the field's type. A shape tag is compared with
/// the field's shape; a spelling tag (a type whose shape cannot be traced, or a value stored by format
/// v1) with the spelling of the field's type.
fn same_type(stored: u32, current: u32, field: &Field) -> bool {
    if stored & shape::SHAPE_BIT != 0 {
        stored == current
    } else {
        stored == u32::from(field.type_tag())
    }
}

/// The index of the field tagged `name_tag`; records are usually in field order, so look there first.
fn field_index<S: Session>(name_tag: u32, position: usize) -> Option<usize> {
    match S::FIELDS.get(position) {
        Some(field) if field.name_tag() == name_tag => Some(position),
        _ => S::FIELDS.iter().position(|field| field.name_tag() == name_tag),
    }
}

fn check_times<S: Session>(meta: Meta, now: u64) -> Result<(), Rejection> {
    let latest = now.saturating_add(CLOCK_SKEW_LEEWAY);
    if meta.created_at > latest || meta.refreshed_at > latest {
        return Err(Rejection::IssuedInFuture);
    }
    let lifetime = S::CONFIG.lifetime();
    let past_max_age = now >= meta.created_at.saturating_add(lifetime.max_age().as_secs());
    let idle = lifetime
        .idle_timeout()
        .is_some_and(|idle| now >= meta.refreshed_at.saturating_add(idle.as_secs()));
    if past_max_age || idle {
        return Err(Rejection::Expired);
    }
    Ok(())
}

/// Where each record of a payload written by [`encode`] is, relative to the payload's start.
#[derive(Debug)]
pub(crate) struct Layout {
    meta: Meta,
    fields: Vec<Option<SnapshotField>>,
    foreign: Vec<Range<usize>>,
}

/// Appends the payload of `loaded` as it would be stored at `now` to `out`, calling `changed` with the
/// index of each field whose value differs from what was loaded (for a new session: from its default).
/// A field with its own `max_age` gets `now` as its set time when it changed, and keeps the old one
/// otherwise.
pub(crate) fn encode<S: Session>(
    loaded: &Loaded<S>,
    now: u64,
    out: &mut Vec<u8>,
    mut changed: impl FnMut(usize),
) -> Result<Layout, SaveError> {
    let cookie = S::CONFIG.cookie().name();
    let encode_error = |field: &Field| {
        let field = field.name();
        move |source| SaveError::Encode {
            cookie,
            field,
            source,
        }
    };
    let meta = Meta {
        created_at: loaded.meta.created_at,
        refreshed_at: now,
        persistent: loaded.persistent,
    };
    let start = out.len();
    let foreign = &loaded.snapshot.foreign;
    let mut writer = Writer::begin(out, meta, S::FIELDS.len() + foreign.len());
    let prepared = S::prepared();
    let defaults = &prepared.defaults;
    let mut fields = Vec::with_capacity(S::FIELDS.len());
    for (index, field) in S::FIELDS.iter().enumerate() {
        let record = Writer::start_record(out);
        let value_start = record.value_start();
        loaded
            .value
            .encode_field(index, out)
            .map_err(encode_error(field))?;
        let default = defaults[index].as_deref();
        let before = if loaded.origin == Origin::Restored {
            loaded.snapshot.fields[index]
                .as_ref()
                .map(|old| (&loaded.snapshot.bytes[old.value.clone()], old.set_at))
        } else {
            default.map(|default| (default, None))
        };
        let set_at = match before {
            Some((bytes, set_at)) if *bytes == out[value_start..] => set_at,
            _ => {
                changed(index);
                None
            }
        };
        // A field's own lifetime runs from when it was given a value; its default is no value.
        let timed = field.lifetime().is_some() && default != Some(&out[value_start..]);
        let set_at = timed.then(|| set_at.unwrap_or(now));
        let range = writer.finish_record(
            out,
            record,
            (field.name_tag(), prepared.type_tags[index]),
            set_at,
            |size| SaveError::FieldTooLarge {
                cookie,
                field: field.name(),
                size,
                limit: payload::MAX_VALUE_LEN,
            },
        )?;
        fields.push(Some(SnapshotField {
            value: range.start - start..range.end - start,
            set_at,
        }));
    }
    let foreign = foreign
        .iter()
        .map(|raw| {
            let at = out.len() - start;
            writer.raw(out, &loaded.snapshot.bytes[raw.clone()]);
            at..out.len() - start
        })
        .collect();
    writer.finish();
    Ok(Layout {
        meta,
        fields,
        foreign,
    })
}

/// Records that `payload` (written by [`encode`] for `loaded`, laid out as `layout`) is now what is
/// stored, so that a second save in the same request writes nothing unless something changed again.
pub(crate) fn commit<S: Session>(loaded: &mut Loaded<S>, payload: Vec<u8>, layout: Layout) {
    loaded.meta = layout.meta;
    loaded.origin = Origin::Restored;
    loaded.resets.clear();
    loaded.rekey = false;
    loaded.ended = false;
    loaded.intent = Intent::Keep;
    loaded.snapshot = Snapshot {
        bytes: payload,
        fields: layout.fields,
        foreign: layout.foreign,
    };
}

#[cfg(test)]
mod tests {
    //! The payload parser and the field decoders behind the seal, fed what the seal keeps out: random
    //! and mangled payloads. Defense in depth: nothing here may panic.

    use rand::rngs::StdRng;
    use rand::{Rng as _, RngExt as _, SeedableRng as _};

    use super::*;
    use crate::store::merge::merge;

    #[derive(crate::Session, Default, Debug, PartialEq)]
    struct Probe {
        user: Option<u64>,
        names: Vec<String>,
        #[max_age("1h")]
        code: Option<String>,
        flag: bool,
    }

    const NOW: u64 = 1_700_000_000;

    fn valid_payload() -> Vec<u8> {
        let mut session = Loaded::<Probe>::new(Origin::New, NOW);
        session.user = Some(7);
        session.names = vec!["a".into(), "bb".into(), "ccc".into()];
        session.code = Some("123456".into());
        session.flag = true;
        let mut out = Vec::new();
        encode(&session, NOW, &mut out, |_| {}).unwrap();
        out
    }

    /// A payload as another version of `Probe` might write it: a record `Probe` does not know first,
    /// then `Probe`'s fields in reverse order, `flag` under another type.
    fn reordered_payload() -> Vec<u8> {
        let value = Probe {
            user: Some(7),
            names: vec!["a".into()],
            code: Some("123456".into()),
            flag: true,
        };
        let meta = Meta {
            created_at: NOW,
            refreshed_at: NOW,
            persistent: true,
        };
        let mut out = Vec::new();
        let mut writer = Writer::begin(&mut out, meta, 1 + Probe::FIELDS.len());
        writer
            .record(&mut out, (0xf0f0, 1), None, b"theirs", |_| ())
            .unwrap();
        for (index, field) in Probe::FIELDS.iter().enumerate().rev() {
            let mut bytes = Vec::new();
            value.encode_field(index, &mut bytes).unwrap();
            let type_tag = Probe::prepared().type_tags[index];
            let type_tag = if field.name() == "flag" {
                type_tag ^ 1
            } else {
                type_tag
            };
            let set_at = field.lifetime().map(|_| NOW);
            writer
                .record(&mut out, (field.name_tag(), type_tag), set_at, &bytes, |_| ())
                .unwrap();
        }
        writer.finish();
        out
    }

    #[test]
    fn fields_stored_out_of_order_are_found_and_a_reset_field_is_a_change() {
        let payload = reordered_payload();
        let restored = restore::<Probe>(payload.clone(), 0..payload.len(), NOW).unwrap();
        assert_eq!((restored.user, restored.flag), (Some(7), false));
        let mut changed = Vec::new();
        let mut out = Vec::new();
        encode(&restored, NOW + 5, &mut out, |index| {
            changed.push(Probe::FIELDS[index].name())
        })
        .unwrap();
        assert_eq!(
            changed,
            ["flag"],
            "only the field that went back to its default changed"
        );
        let (_, records) = payload::read(&out).unwrap();
        let code = records
            .map(Result::unwrap)
            .find(|record| record.name_tag == Probe::FIELDS[2].name_tag())
            .unwrap();
        assert_eq!(code.set_at, Some(NOW), "an unchanged field keeps when it was set");
    }

    /// Restores `bytes`; when that works, encodes the result again, as a save would.
    fn restore_and_save(bytes: Vec<u8>) {
        let len = bytes.len();
        if let Ok(session) = restore::<Probe>(bytes, 0..len, NOW) {
            let mut out = Vec::new();
            let _ = encode(&session, NOW + 1, &mut out, |_| {});
        }
    }

    #[test]
    fn random_payloads_never_panic() {
        let mut rng = StdRng::seed_from_u64(0x5e55);
        for len in 0..256 {
            for _ in 0..40 {
                let mut bytes = vec![0u8; len];
                rng.fill_bytes(&mut bytes);
                restore_and_save(bytes);
            }
        }
    }

    #[test]
    fn mangled_valid_payloads_never_panic() {
        let valid = valid_payload();
        let restored = restore::<Probe>(valid.clone(), 0..valid.len(), NOW).unwrap();
        assert_eq!(
            restored.names,
            ["a", "bb", "ccc"],
            "the probe payload itself is valid"
        );
        let mut rng = StdRng::seed_from_u64(0xbad);
        for _ in 0..20_000 {
            let mut bytes = valid.clone();
            for _ in 0..rng.random_range(1..4) {
                match rng.random_range(0..4) {
                    0 => {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = rng.random();
                    }
                    1 => bytes.truncate(rng.random_range(0..bytes.len())),
                    2 => {
                        let at = rng.random_range(0..=bytes.len());
                        bytes.insert(at, rng.random());
                    }
                    _ => {
                        let at = rng.random_range(0..bytes.len());
                        bytes[at] = 0xff; // varints that never end, lengths far too long
                    }
                }
                if bytes.is_empty() {
                    break;
                }
            }
            restore_and_save(bytes);
        }
    }

    #[test]
    fn merging_mangled_records_never_panics() {
        let valid = valid_payload();
        let mut rng = StdRng::seed_from_u64(0x3e);
        for _ in 0..5_000 {
            let mut current = valid.clone();
            let at = rng.random_range(0..current.len());
            current[at] = rng.random();
            current.truncate(rng.random_range(0..=current.len()));
            let changed: Vec<u32> = (0..rng.random_range(0..3)).map(|_| rng.random()).collect();
            let merged = merge(&current, &valid, &changed);
            restore_and_save(merged);
        }
    }
}
