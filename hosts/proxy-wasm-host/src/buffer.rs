//! A connection's data buffer under Envoy's rules, which a network filter must live with
//! (DESIGN §5, verified on Envoy 1.40):
//!
//! - `proxy_on_downstream_data` reports the size of everything buffered so far, and
//!   `proxy_get_buffer_bytes` reads it from offset 0.
//! - `proxy_set_buffer_bytes` cannot splice: Envoy's `Buffer::copyFrom`
//!   (`source/extensions/common/wasm/context.cc`) with `start == 0` drains `length` bytes
//!   from the front and prepends the data (so `length` = the whole buffer replaces it, 0
//!   prepends); with `start` at or past the end it appends; anything else is
//!   `BadArgument`.
//! - `Continue` hands the whole buffer, replacements included, to the next filter and
//!   drains it; `StopIteration` keeps it, and the next read is appended.
//!
//! The reads follow `proxy-wasm-cpp-host`'s `get_buffer_bytes`: an overflowing range is
//! `BadArgument`, a range past the end is cut at the end (possibly to nothing).

use super::abi::Status;

/// The bytes a connection has buffered in one direction.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct StreamBuffer {
    bytes: Vec<u8>,
}

impl StreamBuffer {
    /// What a new read adds (Envoy appends to whatever the filter left buffered).
    pub fn append(&mut self, data: &[u8]) {
        self.bytes.extend_from_slice(data);
    }

    /// Everything buffered.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// `proxy_get_buffer_bytes(start, length)`: the bytes in range, cut at the end.
    pub fn get(&self, start: u32, length: u32) -> Result<&[u8], Status> {
        if start.checked_add(length).is_none() {
            return Err(Status::BadArgument);
        }
        let start = usize::try_from(start).map_err(|_| Status::BadArgument)?;
        let length = usize::try_from(length).map_err(|_| Status::BadArgument)?;
        let from = start.min(self.bytes.len());
        let to = start.saturating_add(length).min(self.bytes.len());
        Ok(self.bytes.get(from..to).unwrap_or_default())
    }

    /// `proxy_set_buffer_bytes(start, length, data)`, as Envoy applies it.
    pub fn set(&mut self, start: u32, length: u32, data: &[u8]) -> Status {
        let Ok(start) = usize::try_from(start) else {
            return Status::BadArgument;
        };
        let Ok(length) = usize::try_from(length) else {
            return Status::BadArgument;
        };
        if start == 0 {
            let drained = length.min(self.bytes.len());
            self.bytes.splice(..drained, data.iter().copied());
            Status::Ok
        } else if start >= self.bytes.len() {
            self.bytes.extend_from_slice(data);
            Status::Ok
        } else {
            Status::BadArgument
        }
    }

    /// `Continue`: the whole buffer leaves; nothing stays.
    pub fn drain(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(text: &str) -> StreamBuffer {
        let mut b = StreamBuffer::default();
        b.append(text.as_bytes());
        b
    }

    #[test]
    fn reads_are_cut_at_the_end_and_an_overflowing_range_is_refused() {
        let b = buffer("INVITE sip:911");
        assert_eq!(b.get(0, u32::MAX - 1).unwrap(), b"INVITE sip:911");
        assert_eq!(b.get(7, 3).unwrap(), b"sip");
        assert_eq!(b.get(40, 3).unwrap(), b"");
        assert_eq!(b.get(1, u32::MAX), Err(Status::BadArgument));
    }

    #[test]
    fn a_write_at_zero_drains_its_length_and_prepends() {
        let mut whole = buffer("abcdef");
        assert_eq!(whole.set(0, 6, b"XY"), Status::Ok);
        assert_eq!(whole.drain(), b"XY");

        let mut prefix = buffer("abcdef");
        assert_eq!(prefix.set(0, 2, b"XY"), Status::Ok);
        assert_eq!(prefix.drain(), b"XYcdef");

        let mut prepend = buffer("abc");
        assert_eq!(prepend.set(0, 0, b"X"), Status::Ok);
        assert_eq!(prepend.drain(), b"Xabc");
    }

    #[test]
    fn a_write_past_the_end_appends_and_one_inside_is_refused() {
        let mut b = buffer("abc");
        assert_eq!(b.set(3, 0, b"d"), Status::Ok);
        assert_eq!(b.set(9, 9, b"e"), Status::Ok);
        assert_eq!(b.set(1, 1, b"X"), Status::BadArgument);
        assert_eq!(b.set(1, 3, b"X"), Status::BadArgument);
        assert_eq!(b.drain(), b"abcde");
        assert!(b.is_empty());
    }
}
