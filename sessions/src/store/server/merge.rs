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
    let kept_from_old = old
        .iter()
        .filter(|old| !new.iter().any(|new| new.name_tag == old.name_tag));
    let mut out = Vec::with_capacity(current.len().max(update.len()) + 32);
    let mut writer = Writer::begin(&mut out, meta, new.len() + kept_from_old.clone().count());
    let chosen = new.iter().map(
        |record| match old.iter().find(|old| old.name_tag == record.name_tag) {
            Some(stored) if !changed.contains(&record.name_tag) => stored,
            _ => record,
        },
    );
    // Records are written afresh, not copied: their set times are stored relative to the payload's
    // creation time, which may differ between the two.
    for record in chosen.chain(kept_from_old) {
        let written = writer.record(
            &mut out,
            (record.name_tag, record.type_tag),
            record.set_at,
            record.value,
            drop,
        );
        if written.is_err() {
            return update.to_vec(); // a value that was read from a record always fits in one
        }
    }
    writer.finish();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(created: u64, records: &[(u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let meta = Meta {
            created_at: created,
            refreshed_at: created,
            persistent: false,
        };
        let mut writer = Writer::begin(&mut out, meta, records.len());
        for (tag, value) in records {
            writer.record(&mut out, (*tag, 0), None, value, |_| ()).unwrap();
        }
        writer.finish();
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
    fn set_times_survive_a_merge_of_payloads_created_at_different_times() {
        let record = |out: &mut Vec<u8>, created: u64, tag: u32, set_at: u64| {
            let meta = Meta {
                created_at: created,
                refreshed_at: created,
                persistent: false,
            };
            let mut writer = Writer::begin(out, meta, 1);
            writer.record(out, (tag, 0), Some(set_at), b"v", |_| ()).unwrap();
            writer.finish();
        };
        let (mut stored, mut update) = (Vec::new(), Vec::new());
        record(&mut stored, 100, 1, 150);
        record(&mut update, 120, 2, 130);
        let merged = merge(&stored, &update, &[2]);
        let (meta, records) = payload::read(&merged).unwrap();
        let set_times: Vec<_> = records
            .collect_all()
            .unwrap()
            .iter()
            .map(|r| (r.name_tag, r.set_at))
            .collect();
        assert_eq!(meta.created_at, 100);
        assert_eq!(set_times, [(2, Some(130)), (1, Some(150))]);
    }

    #[test]
    fn unreadable_stored_payload_is_replaced() {
        let update = payload(1, &[(1, b"x")]);
        assert_eq!(merge(b"garbage", &update, &[]), update);
    }
}
