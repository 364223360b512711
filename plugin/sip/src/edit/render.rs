//! Rendering an edit list: size first, one allocation, copy.

use alloc::vec::Vec;

use crate::lex::sub;

use super::{Edits, Op};

impl Edits<'_, '_> {
    /// The exact length [`Edits::render`] produces.
    pub fn rendered_len(&self) -> usize {
        let removed: usize = self.ops.iter().map(|op| op.span.len()).sum();
        let added: usize = self.ops.iter().map(|op| op.bytes.len()).sum();
        (self.msg.len() + added).saturating_sub(removed)
    }

    /// The edited message. Computes the size first and allocates once; bytes no edit
    /// touches are copied unchanged, so no edits renders exactly
    /// [`crate::Message::as_bytes`] (trailing datagram bytes are not part of it).
    pub fn render(&self) -> Vec<u8> {
        let src = self.msg.as_bytes();
        let mut ops: Vec<&Op> = self.ops.iter().collect();
        // By position; at one position insertions go before a replaced range, and
        // insertions keep the caller's order, body headers last.
        ops.sort_by_key(|op| (op.span.start, !op.span.is_empty(), op.rank, op.seq));
        let mut out = Vec::with_capacity(self.rendered_len());
        let mut pos = 0;
        for op in ops {
            out.extend_from_slice(sub(src, pos, op.span.lo()));
            out.extend_from_slice(&op.bytes);
            pos = pos.max(op.span.hi());
        }
        out.extend_from_slice(sub(src, pos, src.len()));
        out
    }
}
