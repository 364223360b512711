//! Rendering an edit list: size first, one allocation, copy.

use alloc::vec::Vec;

use crate::error::ParseError;
use crate::lex::sub;
use crate::limits::Limits;
use crate::parse::{check_start_line, parse};

use super::Edits;

impl Edits<'_, '_> {
    /// The exact length [`Edits::render`] produces.
    pub fn rendered_len(&self) -> usize {
        let removed: usize = self.ops.iter().map(|op| op.span.len()).sum();
        let added: usize = self.ops.iter().map(|op| self.bytes(op).len()).sum();
        (self.msg.len() + added).saturating_sub(removed)
    }

    /// The edited message. Computes the size first and allocates once; bytes no edit
    /// touches are copied unchanged, so no edits renders exactly
    /// [`crate::Message::as_bytes`] (trailing datagram bytes are not part of it).
    pub fn render(&self) -> Vec<u8> {
        let src = self.msg.as_bytes();
        let mut out = Vec::with_capacity(self.rendered_len());
        let mut pos = 0;
        for op in &self.ops {
            out.extend_from_slice(sub(src, pos, op.span.lo()));
            out.extend_from_slice(self.bytes(op));
            pos = pos.max(op.span.hi());
        }
        out.extend_from_slice(sub(src, pos, src.len()));
        out
    }

    /// [`Edits::render`], checked to parse under [`Limits::STRICT_UNBOUNDED`]: nothing
    /// we forward may be something a strict parser at the next hop refuses, whatever
    /// let the input in.
    ///
    /// Over a message that [parsed strictly](crate::Message::parsed_strictly), only the
    /// start line needs parsing again. [`parse`] checks the start line, each header
    /// line's name, colon and CRLF, where continuations may start, the blank line and
    /// Content-Length; the input passed all of them, and no edit can undo one: inserted
    /// and replaced lines are a token, `": "`, a value without CR or LF, and CRLF, put
    /// where a field or the blank line starts; removals take whole fields with their
    /// continuations; Content-Length is written only with the new body, which it
    /// measures. The Request-URI, the one edit inside the start line, is checked here.
    /// A debug assertion holds this to the full parse in every test and fuzz run.
    pub fn render_checked(&self) -> Result<Vec<u8>, ParseError> {
        let out = self.render();
        if self.msg.parsed_strictly() {
            check_start_line(&out, &Limits::STRICT_UNBOUNDED)?;
            debug_assert!(
                parse(&out, &Limits::STRICT_UNBOUNDED).is_ok(),
                "edits of a strictly parsed message must render one that parses strictly"
            );
        } else {
            parse(&out, &Limits::STRICT_UNBOUNDED)?;
        }
        Ok(out)
    }
}
