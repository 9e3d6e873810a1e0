//! A session's fields to a payload and back: [`restore`] rebuilds a session type's value from a
//! payload, every expiry checked against the clock; [`encode`] writes one, noting which fields
//! changed. Plain data in and out: what a store makes of it is [`crate::loaded`]'s business.

use std::ops::Range;

use crate::codec::payload::{self, Meta, Writer};
use crate::codec::reserved::{RESERVED_TYPE_TAG, Reserved, SERIAL_TAG, SIGNED_IN_TAG};
use crate::codec::shape;
use crate::error::{Rejection, SaveError};
use crate::session::{Field, Session};

/// How far in the future a session's times may lie, for clocks that disagree between servers.
const CLOCK_SKEW_LEEWAY: u64 = 60;

/// The payload as loaded, so that saving can tell which fields changed.
#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) bytes: Vec<u8>,
    /// Per field index: where its value was and when it was set; empty for a new session.
    pub(crate) fields: Vec<Option<SnapshotField>>,
    /// Whole records of fields this version of the struct does not have, carried along unchanged so
    /// that two versions of an app serving the same users during a deploy do not erase each other's.
    pub(crate) foreign: Vec<Range<usize>>,
    /// The store's own records (see [`crate::codec::reserved`]) the payload holds.
    pub(crate) reserved: Reserved,
}

#[derive(Debug, Clone)]
pub(crate) struct SnapshotField {
    pub(crate) value: Range<usize>,
    pub(crate) set_at: Option<u64>,
}

/// A field that did not keep its stored value on load and went back to its default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetField {
    /// The field's name.
    pub field: &'static str,
    /// Why.
    pub reason: ResetReason,
}

/// Why a field went back to its default on load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResetReason {
    /// The stored value was written for another type of this field (a deploy changed it).
    TypeChanged,
    /// The stored value did not decode as the field's type.
    Undecodable,
    /// The field's own `#[max_age]` had passed.
    Expired,
}

/// A session rebuilt from a payload: its value, its times, the payload as loaded, and the fields that
/// went back to their defaults.
#[derive(Debug)]
pub(crate) struct Restored<S> {
    pub(crate) value: S,
    pub(crate) meta: Meta,
    pub(crate) snapshot: Snapshot,
    pub(crate) resets: Vec<ResetField>,
}

/// Rebuilds a session from the payload at `buf[payload]`, refusing it if the session has expired or
/// claims to come from the future. A field whose type changed, whose value does not decode, or whose own
/// `max_age` has passed goes back to its default and is listed in [`Restored::resets`].
pub(crate) fn restore<S: Session>(
    buf: Vec<u8>,
    payload: Range<usize>,
    now: u64,
) -> Result<Restored<S>, Rejection> {
    let base = payload.start;
    let within = |range: Range<usize>| base + range.start..base + range.end;
    let (meta, mut records) = payload::read(&buf[payload]).map_err(|_| Rejection::Malformed)?;
    check_times::<S>(meta, now)?;

    let mut value = S::default();
    let mut resets = Vec::new();
    let type_tags = &S::prepared().type_tags;
    let mut fields = vec![None; S::FIELDS.len()];
    let mut foreign = Vec::new();
    let mut reserved = Reserved::default();
    for (position, record) in records.by_ref().enumerate() {
        let record = record.map_err(|_| Rejection::Malformed)?;
        let Some(index) = field_index::<S>(record.name_tag, position) else {
            if !reserved.read(record.name_tag, record.value) {
                foreign.push(within(record.raw_range()));
            }
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
            value
                .decode_field(index, record.value)
                .map_err(|_| ResetReason::Undecodable)
        };
        match outcome {
            Ok(()) => {
                fields[index] = Some(SnapshotField {
                    value: within(record.value_range()),
                    set_at: record.set_at,
                })
            }
            Err(reason) => resets.push(ResetField {
                field: field.name(),
                reason,
            }),
        }
    }
    records.finish().map_err(|_| Rejection::Malformed)?;
    Ok(Restored {
        value,
        meta,
        snapshot: Snapshot {
            bytes: buf,
            fields,
            foreign,
            reserved,
        },
        resets,
    })
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
    reserved: Reserved,
}

/// Appends the payload of `value` with times `meta` to `out`, calling `changed` with the index of each
/// field whose value differs from `before` (the payload as loaded; `None` for a new session, whose
/// fields are compared with their defaults). A field with its own `max_age` gets `meta.refreshed_at`
/// as its set time when it changed, and keeps the old one otherwise. Records of fields this version
/// of the struct does not have are carried over from `before`; the store's own records are `reserved`.
pub(crate) fn encode<S: Session>(
    value: &S,
    before: Option<&Snapshot>,
    (meta, reserved): (Meta, &Reserved),
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
    let now = meta.refreshed_at;
    let start = out.len();
    let foreign = before.map_or(0, |before| before.foreign.len());
    let records = S::FIELDS.len() + foreign + reserved.count();
    let mut writer = Writer::begin(out, meta, records);
    let prepared = S::prepared();
    let defaults = &prepared.defaults;
    let mut fields = Vec::with_capacity(S::FIELDS.len());
    for (index, field) in S::FIELDS.iter().enumerate() {
        let record = Writer::start_record(out);
        let value_start = record.value_start();
        value.encode_field(index, out).map_err(encode_error(field))?;
        let default = defaults[index].as_deref();
        let old = match before {
            Some(before) => before.fields[index]
                .as_ref()
                .map(|old| (&before.bytes[old.value.clone()], old.set_at)),
            None => default.map(|default| (default, None)),
        };
        let set_at = match old {
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
    let foreign = before
        .into_iter()
        .flat_map(|before| before.foreign.iter().map(|raw| &before.bytes[raw.clone()]))
        .map(|raw| {
            let at = out.len() - start;
            writer.raw(out, raw);
            at..out.len() - start
        })
        .collect();
    let too_large = |size| SaveError::FieldTooLarge {
        cookie,
        field: "(the store's own)",
        size,
        limit: payload::MAX_VALUE_LEN,
    };
    if let Some(signed_in) = reserved.signed_in() {
        let value = signed_in.encode();
        writer.record(out, (SIGNED_IN_TAG, RESERVED_TYPE_TAG), None, &value, too_large)?;
    }
    if let Some(serial) = reserved.serial() {
        writer.record(out, (SERIAL_TAG, RESERVED_TYPE_TAG), None, &serial.0, too_large)?;
    }
    writer.finish();
    Ok(Layout {
        meta,
        fields,
        foreign,
        reserved: reserved.clone(),
    })
}

impl Snapshot {
    /// Becomes `payload`, written by [`encode`] and laid out as `layout`, as it is now stored;
    /// returns its times.
    pub(crate) fn replace(&mut self, payload: &[u8], layout: Layout) -> Meta {
        self.bytes = payload.to_vec();
        self.fields = layout.fields;
        self.foreign = layout.foreign;
        self.reserved = layout.reserved;
        layout.meta
    }
}

#[cfg(test)]
mod tests {
    //! The payload parser and the field decoders behind the seal, fed what the seal keeps out: random
    //! and mangled payloads. Defense in depth: nothing here may panic.

    use rand::rngs::StdRng;
    use rand::{Rng as _, RngExt as _, SeedableRng as _};

    use super::*;
    use crate::store::server::merge::merge;

    #[derive(crate::Session, Default, Debug, PartialEq)]
    struct Probe {
        user: Option<u64>,
        names: Vec<String>,
        #[max_age("1h")]
        code: Option<String>,
        flag: bool,
    }

    const NOW: u64 = 1_700_000_000;

    fn meta(at: u64) -> Meta {
        Meta {
            created_at: NOW,
            refreshed_at: at,
            persistent: true,
        }
    }

    fn valid_payload() -> Vec<u8> {
        let value = Probe {
            user: Some(7),
            names: vec!["a".into(), "bb".into(), "ccc".into()],
            code: Some("123456".into()),
            flag: true,
        };
        let mut out = Vec::new();
        encode(&value, None, (meta(NOW), &Reserved::default()), &mut out, |_| {}).unwrap();
        out
    }

    /// Encodes what `restored` holds again, as a save at `at` would.
    fn encode_again(
        restored: &Restored<Probe>,
        at: u64,
        out: &mut Vec<u8>,
        changed: impl FnMut(usize),
    ) -> Result<Layout, SaveError> {
        encode(
            &restored.value,
            Some(&restored.snapshot),
            (meta(at), &Reserved::default()),
            out,
            changed,
        )
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
        let mut out = Vec::new();
        let mut writer = Writer::begin(&mut out, meta(NOW), 1 + Probe::FIELDS.len());
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
        assert_eq!((restored.value.user, restored.value.flag), (Some(7), false));
        let mut changed = Vec::new();
        let mut out = Vec::new();
        encode_again(&restored, NOW + 5, &mut out, |index| {
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
        if let Ok(restored) = restore::<Probe>(bytes, 0..len, NOW) {
            let mut out = Vec::new();
            let _ = encode_again(&restored, NOW + 1, &mut out, |_| {});
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
            restored.value.names,
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
