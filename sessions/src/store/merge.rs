//! Per-field merge: how a server-side backend combines a save with what is stored, so that two
//! concurrent requests changing different fields both keep their change.

use crate::codec::payload::{self, Meta, Writer};

/// Merges `update` (a whole payload as its writer sees it) into `current` (the stored payload):
/// the records of `changed` fields come from `update`, every other record stays as stored, and stored
/// records of fields the writer does not know are kept. The same field changed by two writers: the last
/// one wins. A `current` that does not parse is replaced by `update`.
pub(crate) fn merge(current: &[u8], update: &[u8], changed: &[u32]) -> Vec<u8> {
    let (Ok((old_meta, old)), Ok((new_meta, new))) = (payload::read(current), payload::read(update)) else {
        return update.to_vec();
    };
    let (Ok(old), Ok(new)) = (old.collect_all(), new.collect_all()) else {
        return update.to_vec();
    };
    let meta = Meta {
        created_at: old_meta.created_at.min(new_meta.created_at),
        refreshed_at: old_meta.refreshed_at.max(new_meta.refreshed_at),
        persistent: new_meta.persistent,
    };
    let mut out = Vec::with_capacity(current.len().max(update.len()) + 32);
    let mut writer = Writer::begin(&mut out, meta);
    for record in &new {
        let stored = old.iter().find(|old| old.name_tag == record.name_tag);
        match stored {
            Some(stored) if !changed.contains(&record.name_tag) => writer.raw(&mut out, stored.raw),
            _ => writer.raw(&mut out, record.raw),
        }
    }
    for stored in old
        .iter()
        .filter(|old| !new.iter().any(|new| new.name_tag == old.name_tag))
    {
        writer.raw(&mut out, stored.raw);
    }
    writer.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(created: u64, records: &[(u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut writer = Writer::begin(
            &mut out,
            Meta {
                created_at: created,
                refreshed_at: created,
                persistent: false,
            },
        );
        for (tag, value) in records {
            writer.record_of(&mut out, *tag, None, value);
        }
        writer.finish(&mut out);
        out
    }

    fn values(bytes: &[u8]) -> Vec<(u32, Vec<u8>)> {
        let (_, records) = payload::read(bytes).unwrap();
        records
            .collect_all()
            .unwrap()
            .iter()
            .map(|r| (r.name_tag, r.value.to_vec()))
            .collect()
    }

    #[test]
    fn changed_fields_come_from_the_update_and_the_rest_stays_as_stored() {
        // Stored: another request already changed field 2 and wrote field 9 that this writer lacks.
        let stored = payload(5, &[(1, b"a"), (2, b"other"), (9, b"newer app")]);
        // This writer loaded before that, and changed field 1 only.
        let update = payload(5, &[(1, b"mine"), (2, b"stale")]);
        let merged = merge(&stored, &update, &[1]);
        assert_eq!(
            values(&merged),
            [
                (1, b"mine".to_vec()),
                (2, b"other".to_vec()),
                (9, b"newer app".to_vec())
            ]
        );
    }

    #[test]
    fn unreadable_stored_payload_is_replaced() {
        let update = payload(1, &[(1, b"x")]);
        assert_eq!(merge(b"garbage", &update, &[]), update);
    }
}
