//! The plaintext inside a sealed or signed envelope: session times, then one record per field.
//!
//! ```text
//! created_at     varint   unix seconds, when the session began (absolute max_age counts from here)
//! refreshed_in   varint   seconds from created_at to when the cookie was last issued (idle timeout)
//! flags          u8       bit 0: persistent ("remember me")
//! count          varint   number of records
//! record*        name_tag u32 LE, type_tag u32 LE,
//!                varint (value length << 1 | set_at follows),
//!                [varint seconds from created_at to when the value was set], value
//! padding        0 to 15 zero bytes
//! ```
//! Varints are unsigned LEB128: seven bits a byte, low bits first, high bit set on all but the last.
//! A record whose name tag no field has is carried along unread; two such tags are the store's own,
//! the sign-in record and the serial ([`super::reserved`]).
//!
//! A type tag with its top bit set is the tag of the value's serde shape ([`super::shape`]); one below
//! 2^16 is the tag of its type's spelling, for types whose shape cannot be traced and for values stored
//! by format v1. Format v1 differs only there: its type tags were 16 bits, always of the spelling.
//! [`upgrade_v1`] turns a v1 payload into this layout, so nothing else reads v1.
//!
//! A sealed cookie's payload is padded to a whole number of AES blocks ([`pad_to_block`]): the
//! cookie's length then tells its contents' length only to within 16 bytes, and AES-GCM skips its
//! slower path for a partial last block (about 15 ns each way, more than the base64 of the padding).
//!
//! The reader and writer functions that the per-type code calls are `#[inline]`: that code is
//! generic over the session type, so it is compiled in the app's crate, and without the attribute
//! each of these small calls would cross crates. Without them a cookie's open and seal run 1.4% more
//! instructions (callgrind, the `seal_open` session), which would take `seal_open` past its budget
//! of 3% over format v1's figure.

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
    /// Where `raw` starts in the payload.
    pub(crate) offset: usize,
}

impl Record<'_> {
    /// Where the whole record is in the payload.
    pub(crate) fn raw_range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.raw.len()
    }

    /// Where the value is in the payload: the end of the record.
    pub(crate) fn value_range(&self) -> std::ops::Range<usize> {
        let end = self.offset + self.raw.len();
        end - self.value.len()..end
    }
}

/// The payload does not follow the layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Malformed;

/// A record's name and type tags.
const TAGS_LEN: usize = 4 + 4;

/// The shortest record header, for a value under 64 bytes with no set time: tags, then a one-byte
/// length.
const USUAL_HEADER_LEN: usize = TAGS_LEN + 1;

/// Where a record being written starts; see [`Writer::start_record`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordStart(usize);

impl RecordStart {
    /// Where the record's value goes, until [`Writer::finish_record`] moves it.
    #[inline]
    pub(crate) fn value_start(self) -> usize {
        self.0 + USUAL_HEADER_LEN
    }
}

/// The longest value a record holds.
pub(crate) const MAX_VALUE_LEN: usize = 64 * 1024;

/// The most bytes a `u64` takes as a varint.
const MAX_VARINT_LEN: usize = 10;

/// How many bytes `value` takes as a varint.
const fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Writes `value` as a varint at the start of `out` (which has room for it); returns how many bytes
/// it took.
#[inline]
fn varint_into(out: &mut [u8], mut value: u64) -> usize {
    let mut len = 0;
    while value >= 0x80 {
        out[len] = value as u8 | 0x80;
        value >>= 7;
        len += 1;
    }
    out[len] = value as u8;
    len + 1
}

#[inline]
fn take_varint(bytes: &mut &[u8]) -> Result<u64, Malformed> {
    if let Some((&byte, rest)) = bytes.split_first()
        && byte < 0x80
    {
        *bytes = rest; // one byte: most lengths and times
        return Ok(u64::from(byte));
    }
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = bytes.split_first().ok_or(Malformed)?;
        *bytes = rest;
        let bits = u64::from(byte & 0x7f);
        if shift == 63 && bits > 1 {
            return Err(Malformed); // past 64 bits
        }
        value |= bits << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(Malformed)
}

#[inline]
fn take<const N: usize>(bytes: &mut &[u8]) -> Result<[u8; N], Malformed> {
    let (head, rest) = bytes.split_first_chunk::<N>().ok_or(Malformed)?;
    *bytes = rest;
    Ok(*head)
}

/// Writes a payload: the header, then records, then [`Writer::finish`].
pub(crate) struct Writer {
    created_at: u64,
    count: usize,
}

impl Writer {
    /// Writes the header for `count` records.
    #[inline]
    pub(crate) fn begin(out: &mut Vec<u8>, meta: Meta, count: usize) -> Self {
        let mut header = [0; 3 * MAX_VARINT_LEN + 1];
        let mut len = varint_into(&mut header, meta.created_at);
        len += varint_into(
            &mut header[len..],
            meta.refreshed_at.saturating_sub(meta.created_at),
        );
        header[len] = u8::from(meta.persistent);
        len += 1;
        len += varint_into(&mut header[len..], count as u64);
        out.extend_from_slice(&header[..len]);
        Self {
            created_at: meta.created_at,
            count,
        }
    }

    /// Appends a record holding `value`; returns the range of the value in `out`.
    pub(crate) fn record<E>(
        &mut self,
        out: &mut Vec<u8>,
        tags: (u32, u32),
        set_at: Option<u64>,
        value: &[u8],
        too_long: impl FnOnce(usize) -> E,
    ) -> Result<std::ops::Range<usize>, E> {
        let record = Self::start_record(out);
        out.extend_from_slice(value);
        self.finish_record(out, record, tags, set_at, too_long)
    }

    /// Starts a record whose value the caller then appends to `out`, so that a value is encoded
    /// straight into the payload, never copied out of a scratch buffer. Room is left for the usual
    /// header; [`Writer::finish_record`] fills it in.
    #[inline]
    pub(crate) fn start_record(out: &mut Vec<u8>) -> RecordStart {
        out.extend_from_slice(&[0; USUAL_HEADER_LEN]);
        RecordStart(out.len() - USUAL_HEADER_LEN)
    }

    /// Writes the header of the record started at `record`, whose value is everything after
    /// [`RecordStart::value_start`]; returns the range of the value in `out`. A value that is too long
    /// is an error, after which `out` holds no valid payload.
    #[inline]
    pub(crate) fn finish_record<E>(
        &mut self,
        out: &mut Vec<u8>,
        record: RecordStart,
        (name_tag, type_tag): (u32, u32),
        set_at: Option<u64>,
        too_long: impl FnOnce(usize) -> E,
    ) -> Result<std::ops::Range<usize>, E> {
        let value_start = record.value_start();
        let len = out.len() - value_start;
        if len > MAX_VALUE_LEN {
            return Err(too_long(len));
        }
        let len_and_flag = (len as u64) << 1 | u64::from(set_at.is_some());
        let set_in = set_at.map(|set_at| set_at.saturating_sub(self.created_at));
        let header_len = TAGS_LEN + varint_len(len_and_flag) + set_in.map_or(0, varint_len);
        if header_len > USUAL_HEADER_LEN {
            // A long value or a set time: move the value up to make room for the header.
            let shift = header_len - USUAL_HEADER_LEN;
            out.resize(out.len() + shift, 0);
            out.copy_within(value_start..value_start + len, value_start + shift);
        }
        let header = &mut out[record.0..record.0 + header_len];
        header[..4].copy_from_slice(&name_tag.to_le_bytes());
        header[4..8].copy_from_slice(&type_tag.to_le_bytes());
        let at = TAGS_LEN + varint_into(&mut header[TAGS_LEN..], len_and_flag);
        if let Some(set_in) = set_in {
            varint_into(&mut header[at..], set_in);
        }
        self.count -= 1;
        Ok(out.len() - len..out.len())
    }

    /// Appends a whole record exactly as it was read from a payload with the same `created_at`.
    pub(crate) fn raw(&mut self, out: &mut Vec<u8>, record: &[u8]) {
        out.extend_from_slice(record);
        self.count -= 1;
    }

    /// Checks that as many records were written as announced.
    pub(crate) fn finish(self) {
        debug_assert_eq!(self.count, 0, "a payload announced more records than it holds");
    }
}

/// The AES block size, which [`pad_to_block`] pads to.
const BLOCK_LEN: usize = 16;

/// Pads the payload at `out[payload_start..]` with zeros to a whole number of AES blocks.
pub(crate) fn pad_to_block(out: &mut Vec<u8>, payload_start: usize) {
    out.resize(payload_start + padded_len(out.len() - payload_start), 0);
}

/// How long a payload of `len` bytes is once [`pad_to_block`] has padded it.
pub(crate) const fn padded_len(len: usize) -> usize {
    len.next_multiple_of(BLOCK_LEN)
}

/// Splits a payload into its header and its records.
#[inline]
pub(crate) fn read(payload: &[u8]) -> Result<(Meta, Records<'_>), Malformed> {
    let mut bytes = payload;
    let created_at = take_varint(&mut bytes)?;
    let refreshed_in = take_varint(&mut bytes)?;
    let persistent = match take::<1>(&mut bytes)? {
        [0] => false,
        [1] => true,
        _ => return Err(Malformed),
    };
    let count = take_varint(&mut bytes)?;
    let meta = Meta {
        created_at,
        refreshed_at: created_at.checked_add(refreshed_in).ok_or(Malformed)?,
        persistent,
    };
    Ok((
        meta,
        Records {
            rest: bytes,
            len: payload.len(),
            left: count,
            created_at,
        },
    ))
}

/// A format v1 payload in this layout: each record's 16-bit type tag widened to 32 bits, every other
/// byte as it was.
pub(crate) fn upgrade_v1(payload: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut rest = payload;
    take_varint(&mut rest)?;
    take_varint(&mut rest)?;
    take::<1>(&mut rest)?;
    let count = take_varint(&mut rest)?;
    let mut out = Vec::with_capacity(payload.len() + 2 * count.min(1024) as usize);
    out.extend_from_slice(&payload[..payload.len() - rest.len()]);
    for _ in 0..count {
        let record_len = v1_record_len(rest)?;
        upgrade_v1_record_into(&rest[..record_len], &mut out)?;
        rest = &rest[record_len..];
    }
    out.extend_from_slice(rest); // the padding; `Records::finish` checks it
    Ok(out)
}

/// One format v1 record (a server-side entry holds one alone) in this layout.
pub(crate) fn upgrade_v1_record(record: &[u8]) -> Result<Vec<u8>, Malformed> {
    let mut out = Vec::with_capacity(record.len() + 2);
    upgrade_v1_record_into(record, &mut out)?;
    Ok(out)
}

fn upgrade_v1_record_into(record: &[u8], out: &mut Vec<u8>) -> Result<(), Malformed> {
    let (tags, rest) = record.split_at_checked(6).ok_or(Malformed)?;
    out.extend_from_slice(tags);
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(rest);
    Ok(())
}

/// The length of the format v1 record at the start of `bytes`.
fn v1_record_len(bytes: &[u8]) -> Result<usize, Malformed> {
    let mut rest = bytes;
    take::<6>(&mut rest)?;
    let len_and_flag = take_varint(&mut rest)?;
    if len_and_flag & 1 == 1 {
        take_varint(&mut rest)?;
    }
    let len = usize::try_from(len_and_flag >> 1).map_err(|_| Malformed)?;
    let header_len = bytes.len() - rest.len();
    if len > rest.len() {
        return Err(Malformed);
    }
    Ok(header_len + len)
}

/// The records of a payload, in order. After the last one, [`Records::finish`] checks that nothing
/// follows.
#[derive(Debug, Clone)]
pub(crate) struct Records<'a> {
    rest: &'a [u8],
    /// The payload's length, which tells where `rest` starts.
    len: usize,
    left: u64,
    created_at: u64,
}

impl<'a> Records<'a> {
    /// Fails if anything but padding follows the last record.
    #[inline]
    pub(crate) fn finish(&self) -> Result<(), Malformed> {
        if self.left == 0 && self.rest.len() < BLOCK_LEN && self.rest.iter().all(|&byte| byte == 0) {
            Ok(())
        } else {
            Err(Malformed)
        }
    }

    /// Reads every record, or fails if any is cut short or bytes are left over.
    pub(crate) fn collect_all(mut self) -> Result<Vec<Record<'a>>, Malformed> {
        let all = self.by_ref().collect::<Result<Vec<_>, _>>()?;
        self.finish()?;
        Ok(all)
    }

    #[inline]
    fn next_record(&mut self) -> Result<Record<'a>, Malformed> {
        let start = self.rest;
        let offset = self.len - start.len();
        let mut bytes = self.rest;
        let [n0, n1, n2, n3, t0, t1, t2, t3] = take(&mut bytes)?;
        let name_tag = u32::from_le_bytes([n0, n1, n2, n3]);
        let type_tag = u32::from_le_bytes([t0, t1, t2, t3]);
        let len_and_flag = take_varint(&mut bytes)?;
        let set_at = if len_and_flag & 1 == 1 {
            Some(
                self.created_at
                    .checked_add(take_varint(&mut bytes)?)
                    .ok_or(Malformed)?,
            )
        } else {
            None
        };
        let len = usize::try_from(len_and_flag >> 1).map_err(|_| Malformed)?;
        let (value, rest) = bytes.split_at_checked(len).ok_or(Malformed)?;
        self.rest = rest;
        self.left -= 1;
        Ok(Record {
            name_tag,
            type_tag,
            set_at,
            value,
            raw: &start[..start.len() - rest.len()],
            offset,
        })
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, Malformed>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let record = self.next_record();
        if record.is_err() {
            self.left = 0;
        }
        Some(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> (Vec<u8>, Meta) {
        let meta = Meta {
            created_at: 1_700_000_000,
            refreshed_at: 1_700_000_500,
            persistent: true,
        };
        let mut out = vec![0xAA]; // a prefix the writer must leave alone
        let mut writer = Writer::begin(&mut out, meta, 2);
        writer.record(&mut out, (1, 2), None, b"abc", |_| ()).unwrap();
        writer
            .record(&mut out, (3, 4), Some(1_700_000_099), &[9; 200], |_| ())
            .unwrap();
        writer.finish();
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
            (4, Some(1_700_000_099), &[9; 200][..])
        );
        // A raw record copies verbatim into another payload of the same session.
        let mut copy = Vec::new();
        let mut writer = Writer::begin(&mut copy, meta, 1);
        writer.raw(&mut copy, records[1].raw);
        writer.finish();
        let copied = read(&copy).unwrap().1.collect_all().unwrap()[0];
        assert_eq!(
            Record {
                offset: records[1].offset,
                ..copied
            },
            records[1]
        );
        // Each record says where it and its value are in its payload.
        for record in &records {
            assert_eq!(&out[1..][record.raw_range()], record.raw);
            assert_eq!(&out[1..][record.value_range()], record.value);
        }
        assert_eq!(&copy[copied.value_range()], copied.value);
    }

    #[test]
    fn every_truncation_and_trailing_garbage_is_malformed() {
        let (out, _) = sample();
        let payload = &out[1..];
        for cut in 0..payload.len() {
            let result = read(&payload[..cut]).and_then(|(_, r)| r.collect_all());
            assert_eq!(result, Err(Malformed), "cut at {cut}");
        }
        let mut garbage = payload.to_vec();
        garbage.push(1);
        assert_eq!(read(&garbage).and_then(|(_, r)| r.collect_all()), Err(Malformed));
        let mut too_much_padding = payload.to_vec();
        too_much_padding.extend_from_slice(&[0; BLOCK_LEN]);
        assert_eq!(
            read(&too_much_padding).and_then(|(_, r)| r.collect_all()),
            Err(Malformed)
        );
    }

    #[test]
    fn a_padded_payload_fills_whole_blocks_and_reads_the_same() {
        let (out, _) = sample();
        let unpadded = read(&out[1..]).unwrap().1.collect_all().unwrap();
        for extra in 0..BLOCK_LEN {
            let mut padded = out[..out.len() - extra].to_vec();
            let records = read(&padded[1..]).map(|(_, r)| r.collect_all().is_ok());
            pad_to_block(&mut padded, 1);
            assert_eq!((padded.len() - 1) % BLOCK_LEN, 0);
            if extra == 0 {
                assert_eq!(read(&padded[1..]).unwrap().1.collect_all().unwrap(), unpadded);
            } else {
                assert_eq!(records, Ok(false), "a cut payload is not made whole by padding");
            }
        }
    }

    #[test]
    fn varints_round_trip_at_every_width_and_overlong_ones_are_malformed() {
        for value in [0, 1, 127, 128, 300, 16_383, 16_384, u64::from(u32::MAX), u64::MAX] {
            let mut out = [0; MAX_VARINT_LEN];
            let len = varint_into(&mut out, value);
            assert_eq!(len, varint_len(value), "{value}");
            let mut bytes = &out[..len];
            assert_eq!(take_varint(&mut bytes), Ok(value));
            assert!(bytes.is_empty());
        }
        let mut eleven_bytes = &[0xff; 11][..];
        assert_eq!(take_varint(&mut eleven_bytes), Err(Malformed));
        let mut past_64_bits = &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02][..];
        assert_eq!(take_varint(&mut past_64_bits), Err(Malformed));
    }

    #[test]
    fn values_longer_than_a_record_holds_are_refused() {
        let mut out = Vec::new();
        let meta = Meta {
            created_at: 0,
            refreshed_at: 0,
            persistent: false,
        };
        let mut writer = Writer::begin(&mut out, meta, 1);
        let result = writer.record(&mut out, (1, 1), None, &vec![0; MAX_VALUE_LEN + 1], |len| len);
        assert_eq!(result, Err(MAX_VALUE_LEN + 1));
    }
}
