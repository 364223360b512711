//! `Span`: a byte range of the message buffer, as two `u32` offsets.

/// A half-open byte range `start..end` of the buffer a [`crate::Message`] borrows.
///
/// Offsets are `u32` because messages are capped far below 4 GiB
/// ([`crate::Limits::max_message_bytes`]) and a header table of `u32` pairs is half the
/// size of `usize` pairs on 64-bit hosts. An edit points at the original bytes through
/// these spans.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// First byte of the range.
    pub start: u32,
    /// One past the last byte of the range.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end`; callers guarantee both fit in `u32` (the parser
    /// refuses buffers that do not).
    pub(crate) fn new(start: usize, end: usize) -> Self {
        Self {
            start: to_u32(start),
            end: to_u32(end),
        }
    }

    /// An empty span at `at`.
    pub(crate) fn at(at: usize) -> Self {
        Self::new(at, at)
    }

    /// Number of bytes covered.
    pub fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    /// Whether the span covers no byte.
    pub fn is_empty(self) -> bool {
        self.end <= self.start
    }

    /// The bytes of `buf` this span covers, or an empty slice if it does not fit `buf`
    /// (a span from another buffer never panics, it just reads nothing).
    pub fn slice(self, buf: &[u8]) -> &[u8] {
        buf.get(self.start as usize..self.end as usize)
            .unwrap_or_default()
    }

    /// `start` as a `usize` index.
    pub(crate) fn lo(self) -> usize {
        self.start as usize
    }

    /// `end` as a `usize` index.
    pub(crate) fn hi(self) -> usize {
        self.end as usize
    }
}

/// Saturating conversion used for offsets the parser has already bounded.
pub(crate) fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slices_out_of_range_as_empty() {
        let s = Span { start: 3, end: 10 };
        assert_eq!(s.slice(b"abc"), b"");
        assert_eq!(Span { start: 1, end: 3 }.slice(b"abcd"), b"bc");
    }

    #[test]
    fn reversed_span_is_empty() {
        let s = Span { start: 5, end: 2 };
        assert!(s.is_empty());
        assert_eq!(s.len(), 0);
    }
}
