//! The plaintext inside a sealed or signed envelope: session times, then one record per field.
//!
//! ```text
//! created_at   u64 LE   unix seconds, when the session began (absolute max_age counts from here)
//! refreshed_at u64 LE   unix seconds, when the cookie was last issued (idle_timeout counts from here)
//! flags        u8       bit 0: persistent ("remember me")
//! count        u16 LE   number of records
//! record*      name_tag u32 LE, type_tag u32 LE, len u16 LE (bit 15: set_at follows),
//!              [set_at u64 LE], value[len & 0x7fff]
//! ```

/// Session-wide times and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Meta {
    pub(crate) created_at: u64,
    pub(crate) refreshed_at: u64,
    pub(crate) persistent: bool,
}

/// One field's record, borrowed from a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Record<'a> {
    pub(crate) name_tag: u32,
    pub(crate) type_tag: u32,
    pub(crate) set_at: Option<u64>,
    pub(crate) value: &'a [u8],
    /// The whole record, header included, as it stands in the payload.
    pub(crate) raw: &'a [u8],
}

const META_LEN: usize = 8 + 8 + 1 + 2;
const HAS_SET_AT: u16 = 0x8000;
/// The longest value a record holds.
pub(crate) const MAX_VALUE_LEN: usize = 0x7fff;

/// The payload does not follow the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Writes the session header. `count` is patched later by [`Writer::finish`].
pub(crate) struct Writer {
    start: usize,
    count: u16,
}

impl Writer {
    pub(crate) fn begin(out: &mut Vec<u8>, meta: Meta) -> Self {
        let start = out.len();
        out.extend_from_slice(&meta.created_at.to_le_bytes());
        out.extend_from_slice(&meta.refreshed_at.to_le_bytes());
        out.push(u8::from(meta.persistent));
        out.extend_from_slice(&0u16.to_le_bytes());
        Self { start, count: 0 }
    }

    /// Appends a record whose value `write_value` appends; returns the range of the value in `out`.
    pub(crate) fn record<E>(
        &mut self,
        out: &mut Vec<u8>,
        name_tag: u32,
        type_tag: u32,
        set_at: Option<u64>,
        write_value: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
        too_long: impl FnOnce(usize) -> E,
    ) -> Result<std::ops::Range<usize>, E> {
        out.extend_from_slice(&name_tag.to_le_bytes());
        out.extend_from_slice(&type_tag.to_le_bytes());
        let len_at = out.len();
        out.extend_from_slice(&[0, 0]);
        if let Some(set_at) = set_at {
            out.extend_from_slice(&set_at.to_le_bytes());
        }
        let value_start = out.len();
        write_value(out)?;
        let len = out.len() - value_start;
        if len > MAX_VALUE_LEN {
            return Err(too_long(len));
        }
        let flag = if set_at.is_some() { HAS_SET_AT } else { 0 };
        out[len_at..len_at + 2].copy_from_slice(&(len as u16 | flag).to_le_bytes());
        self.count += 1;
        Ok(value_start..out.len())
    }

    /// Appends a record holding `value` as given, for tests that build payloads by hand.
    #[cfg(test)]
    pub(crate) fn record_of(&mut self, out: &mut Vec<u8>, name_tag: u32, set_at: Option<u64>, value: &[u8]) {
        let written: Result<_, usize> = self.record(
            out,
            name_tag,
            0,
            set_at,
            |out| {
                out.extend_from_slice(value);
                Ok(())
            },
            |len| len,
        );
        written.expect("test values fit a record");
    }

    /// Sets the `set_at` of the record whose value starts at `value_start` (written with a placeholder).
    pub(crate) fn patch_set_at(out: &mut [u8], value_start: usize, set_at: u64) {
        out[value_start - 8..value_start].copy_from_slice(&set_at.to_le_bytes());
    }

    /// Appends a whole record exactly as it was read.
    pub(crate) fn raw(&mut self, out: &mut Vec<u8>, record: &[u8]) {
        out.extend_from_slice(record);
        self.count += 1;
    }

    pub(crate) fn finish(self, out: &mut [u8]) {
        out[self.start + 17..self.start + 19].copy_from_slice(&self.count.to_le_bytes());
    }
}

/// Splits a payload into its header and its records.
pub(crate) fn read(payload: &[u8]) -> Result<(Meta, Records<'_>), Malformed> {
    let header = payload.get(..META_LEN).ok_or(Malformed)?;
    let meta = Meta {
        created_at: u64::from_le_bytes(header[0..8].try_into().map_err(|_| Malformed)?),
        refreshed_at: u64::from_le_bytes(header[8..16].try_into().map_err(|_| Malformed)?),
        persistent: match header[16] {
            0 => false,
            1 => true,
            _ => return Err(Malformed),
        },
    };
    let count = u16::from_le_bytes([header[17], header[18]]);
    Ok((
        meta,
        Records {
            rest: &payload[META_LEN..],
            left: count,
        },
    ))
}

/// The records of a payload, in order; an error ends the iteration.
#[derive(Debug, Clone)]
pub(crate) struct Records<'a> {
    rest: &'a [u8],
    left: u16,
}

impl<'a> Records<'a> {
    /// Reads every record, or fails if any is cut short or bytes are left over.
    pub(crate) fn collect_all(self) -> Result<Vec<Record<'a>>, Malformed> {
        let mut all = Vec::with_capacity(usize::from(self.left));
        let mut records = self;
        while records.left > 0 {
            all.push(records.next_record()?);
        }
        if !records.rest.is_empty() {
            return Err(Malformed);
        }
        Ok(all)
    }

    fn next_record(&mut self) -> Result<Record<'a>, Malformed> {
        let bytes = self.rest;
        let take = |at: usize, len: usize| bytes.get(at..at + len).ok_or(Malformed);
        let name_tag = u32::from_le_bytes(take(0, 4)?.try_into().map_err(|_| Malformed)?);
        let type_tag = u32::from_le_bytes(take(4, 4)?.try_into().map_err(|_| Malformed)?);
        let len_and_flag = u16::from_le_bytes(take(8, 2)?.try_into().map_err(|_| Malformed)?);
        let (set_at, value_at) = if len_and_flag & HAS_SET_AT != 0 {
            let set_at = u64::from_le_bytes(take(10, 8)?.try_into().map_err(|_| Malformed)?);
            (Some(set_at), 18)
        } else {
            (None, 10)
        };
        let len = usize::from(len_and_flag & !HAS_SET_AT);
        let value = take(value_at, len)?;
        let (raw, rest) = bytes.split_at(value_at + len);
        self.rest = rest;
        self.left -= 1;
        Ok(Record {
            name_tag,
            type_tag,
            set_at,
            value,
            raw,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<u8>, Meta) {
        let meta = Meta {
            created_at: 10,
            refreshed_at: 20,
            persistent: true,
        };
        let mut out = vec![0xAA]; // a prefix the writer must leave alone
        let mut writer = Writer::begin(&mut out, meta);
        writer.record_of(&mut out, 1, None, b"abc");
        let value = writer.record(
            &mut out,
            3,
            4,
            Some(0),
            |out| {
                out.push(9);
                Ok::<_, ()>(())
            },
            |_| (),
        );
        Writer::patch_set_at(&mut out, value.unwrap().start, 99);
        writer.finish(&mut out);
        (out, meta)
    }

    #[test]
    fn records_round_trip_with_and_without_set_time() {
        let (out, meta) = sample();
        assert_eq!(out[0], 0xAA);
        let (read_meta, records) = read(&out[1..]).unwrap();
        assert_eq!(read_meta, meta);
        let records = records.collect_all().unwrap();
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].name_tag, records[0].set_at, records[0].value),
            (1, None, &b"abc"[..])
        );
        assert_eq!(
            (records[1].type_tag, records[1].set_at, records[1].value),
            (4, Some(99), &[9][..])
        );
    }

    #[test]
    fn every_truncation_and_trailing_garbage_is_malformed() {
        let (out, _) = sample();
        let payload = &out[1..];
        for cut in 0..payload.len() {
            let result = read(&payload[..cut]).and_then(|(_, r)| r.collect_all());
            assert_eq!(result, Err(Malformed), "cut at {cut}");
        }
        let mut longer = payload.to_vec();
        longer.push(0);
        assert_eq!(read(&longer).and_then(|(_, r)| r.collect_all()), Err(Malformed));
    }

    #[test]
    fn values_longer_than_the_length_field_are_refused() {
        let mut out = Vec::new();
        let mut writer = Writer::begin(
            &mut out,
            Meta {
                created_at: 0,
                refreshed_at: 0,
                persistent: false,
            },
        );
        let result = writer.record(
            &mut out,
            1,
            1,
            None,
            |out| {
                out.resize(out.len() + MAX_VALUE_LEN + 1, 0);
                Ok(())
            },
            |len| len,
        );
        assert_eq!(result, Err(MAX_VALUE_LEN + 1));
    }
}
