//! `Edits`: an edit list against the spans of a parsed message, rendered once.
//!
//! Every edit names a range of the original bytes and what replaces it (an insertion
//! is an empty range). Untouched bytes are copied as they are, so a message nobody
//! edits renders byte-identical, and a forwarded emergency INVITE differs from the
//! received one exactly where the policy said. Two edits over the same bytes are an
//! error rather than last-writer-wins: a conflict is a bug to surface, not to hide.

mod render;
#[cfg(test)]
mod tests;

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;

use crate::header::HeaderKind;
use crate::lex::is_token_str;
use crate::message::{Field, Message};
use crate::span::Span;
use crate::start_line::StartLine;

/// Why an edit was refused. The edit list is unchanged after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EditError {
    /// The edit touches bytes another edit already changes.
    Overlap,
    /// The field is not one of this message's fields.
    UnknownField,
    /// A header name that is not a token (RFC 3261 §25.1).
    InvalidName,
    /// A value holding CR or LF (it would inject header lines), or a Request-URI
    /// holding bytes a URI cannot.
    InvalidValue,
    /// Content-Length is written only by [`Edits::set_body`], so it always matches the
    /// body that goes out.
    ContentLength,
    /// A response has no Request-URI to replace.
    NotARequest,
}

impl fmt::Display for EditError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Overlap => "edit overlaps another edit",
            Self::UnknownField => "field is not part of this message",
            Self::InvalidName => "header name is not a token",
            Self::InvalidValue => "value holds CR, LF or bytes not allowed there",
            Self::ContentLength => "Content-Length is set only by set_body",
            Self::NotARequest => "a response has no Request-URI",
        })
    }
}

impl core::error::Error for EditError {}

/// Order among insertions at one place: a line inserted after a field stays next to
/// it, then lines inserted before the next field or at the end of the section, then
/// the Content-Type and Content-Length a body edit adds, then (for a message that
/// had no blank line) the new body itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    AfterField,
    Caller,
    BodyHeaders,
    Body,
}

/// One edit: replace `span` of the original with `bytes`.
#[derive(Clone, Debug)]
struct Op<'m> {
    span: Span,
    rank: Rank,
    seq: u32,
    bytes: Bytes<'m>,
}

/// What an edit puts in place of its span.
#[derive(Clone, Debug)]
enum Bytes<'m> {
    /// A range of [`Edits::written`]: header lines and Request-URIs, written one after
    /// another into one buffer rather than each into its own.
    Written(Span),
    /// A new body, borrowed from the caller where it can be: it is the largest edit,
    /// and the render copies it anyway.
    Body(Cow<'m, [u8]>),
}

/// An edit list against one parsed [`Message`].
#[derive(Clone, Debug)]
pub struct Edits<'m, 'a> {
    msg: &'m Message<'a>,
    /// In render order (position, insertions first, rank, then the order they came in),
    /// so rendering is one pass.
    ops: Vec<Op<'m>>,
    written: Vec<u8>,
    body_set: bool,
}

/// Room for the edits an emergency rewrite makes, so the lists do not regrow.
const OPS_CAPACITY: usize = 16;
const WRITTEN_CAPACITY: usize = 512;

impl<'m, 'a> Edits<'m, 'a> {
    /// No edits yet: renders the message unchanged.
    pub fn new(msg: &'m Message<'a>) -> Self {
        Self {
            msg,
            ops: Vec::with_capacity(OPS_CAPACITY),
            written: Vec::with_capacity(WRITTEN_CAPACITY),
            body_set: false,
        }
    }

    /// The message being edited.
    pub fn message(&self) -> &'m Message<'a> {
        self.msg
    }

    /// Whether there are no edits (the render is the original).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Appends `Name: value` at the end of the header section.
    pub fn push_header(&mut self, name: &str, value: impl AsRef<[u8]>) -> Result<(), EditError> {
        self.add_line(
            self.msg.header_end(),
            Rank::Caller,
            name.as_bytes(),
            value.as_ref(),
        )
    }

    /// Inserts `Name: value` on its own line before `field`.
    pub fn insert_before(
        &mut self,
        field: &Field,
        name: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), EditError> {
        self.check_field(field)?;
        let at = Span::at(field.name.lo());
        self.add_line(at, Rank::Caller, name.as_bytes(), value.as_ref())
    }

    /// Inserts `Name: value` on its own line after `field` (after its continuations).
    pub fn insert_after(
        &mut self,
        field: &Field,
        name: &str,
        value: impl AsRef<[u8]>,
    ) -> Result<(), EditError> {
        self.check_field(field)?;
        let at = Span::at(self.msg.field_line(field).hi());
        self.add_line(at, Rank::AfterField, name.as_bytes(), value.as_ref())
    }

    /// Replaces the value of `field`: the whole line is re-rendered as `Name: value`,
    /// with the canonical name for known kinds (`f:` becomes `From:`) and the name as
    /// written for extension headers.
    pub fn replace_value(
        &mut self,
        field: &Field,
        value: impl AsRef<[u8]>,
    ) -> Result<(), EditError> {
        self.check_field(field)?;
        self.refuse_content_length(field.kind)?;
        let written = self.msg.name(field);
        let name = field.kind.name().map_or(written, str::as_bytes);
        self.add_line(
            self.msg.field_line(field),
            Rank::Caller,
            name,
            value.as_ref(),
        )
    }

    /// Removes `field`, continuation lines included.
    pub fn remove(&mut self, field: &Field) -> Result<(), EditError> {
        self.check_field(field)?;
        self.refuse_content_length(field.kind)?;
        self.add(self.msg.field_line(field), Rank::Caller, Bytes::NONE)
    }

    /// Removes every field of `kind` (say, every P-Asserted-Identity before asserting
    /// a new one). Returns how many; on error nothing is removed.
    pub fn remove_all(&mut self, kind: HeaderKind) -> Result<usize, EditError> {
        self.refuse_content_length(kind)?;
        let msg = self.msg;
        self.atomically(|e| {
            let mut n = 0;
            for f in msg.fields_of(kind) {
                e.add(msg.field_line(f), Rank::Caller, Bytes::NONE)?;
                n += 1;
            }
            Ok(n)
        })
    }

    /// Replaces the Request-URI (its own edit kind: the start line is never
    /// re-serialized from a model).
    pub fn set_request_uri(&mut self, uri: impl AsRef<[u8]>) -> Result<(), EditError> {
        let StartLine::Request(r) = self.msg.start_line() else {
            return Err(EditError::NotARequest);
        };
        let uri = uri.as_ref();
        if uri.is_empty()
            || crate::uri::first_invalid_byte(uri).is_some()
            || uri.iter().any(|b| b"<>\"".contains(b))
        {
            return Err(EditError::InvalidValue);
        }
        self.check_free(r.uri)?;
        let written = self.write(&[uri]);
        self.push(r.uri, Rank::Caller, written);
        Ok(())
    }

    /// Replaces the body, and with it every Content-Type and Content-Length (compact
    /// forms included): the first of each is rewritten in place, the others removed,
    /// missing ones added at the end of the header section. The only way to change
    /// Content-Length, so it always equals the body that goes out.
    pub fn set_body(
        &mut self,
        content_type: &[u8],
        body: impl Into<Cow<'m, [u8]>>,
    ) -> Result<(), EditError> {
        if content_type.is_empty() {
            return Err(EditError::InvalidValue);
        }
        check_line(b"Content-Type", content_type)?;
        self.replace_body(Some(content_type), body.into())
    }

    /// Removes the body: no Content-Type, `Content-Length: 0`.
    pub fn clear_body(&mut self) -> Result<(), EditError> {
        self.replace_body(None, Cow::Borrowed(&[]))
    }

    fn replace_body(
        &mut self,
        content_type: Option<&[u8]>,
        body: Cow<'m, [u8]>,
    ) -> Result<(), EditError> {
        if self.body_set {
            return Err(EditError::Overlap);
        }
        let written = self.written.len();
        let ct = content_type.map(|ct| self.write(&[b"Content-Type: ", ct, b"\r\n"]));
        let cl = self.write(&[b"Content-Length: ", itoa(body.len()).as_ref(), b"\r\n"]);
        let msg = self.msg;
        // RFC 3261 §7.5: the blank line separates headers and body. A message accepted
        // without one (Leniency::allow_missing_blank_line) gets one with its new body.
        let new_body = if msg.header_end().start == msg.body_span().start {
            let mut with_blank_line = b"\r\n".to_vec();
            with_blank_line.extend_from_slice(&body);
            Cow::Owned(with_blank_line)
        } else {
            body
        };
        let body_span = Span {
            start: msg.body_span().start,
            end: crate::span::to_u32(msg.len()),
        };
        let added = self.atomically(|e| {
            e.rewrite_all(HeaderKind::ContentType, ct)?;
            e.rewrite_all(HeaderKind::ContentLength, Some(cl))?;
            e.add(body_span, Rank::Body, Bytes::Body(new_body))
        });
        if added.is_err() {
            self.written.truncate(written);
        }
        added?;
        self.body_set = true;
        Ok(())
    }

    /// The first field of `kind` becomes `line`, the others go; with no such field,
    /// `line` is added at the end of the header section.
    fn rewrite_all(&mut self, kind: HeaderKind, line: Option<Bytes<'m>>) -> Result<(), EditError> {
        let msg = self.msg;
        let mut line = line;
        for f in msg.fields_of(kind) {
            let bytes = line.take().unwrap_or(Bytes::NONE);
            self.add(msg.field_line(f), Rank::BodyHeaders, bytes)?;
        }
        match line {
            Some(l) => self.add(msg.header_end(), Rank::BodyHeaders, l),
            None => Ok(()),
        }
    }

    /// Runs `f`; if it fails, drops the edits it added.
    fn atomically<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, EditError>,
    ) -> Result<T, EditError> {
        let len = crate::span::to_u32(self.ops.len());
        let out = f(self);
        if out.is_err() {
            self.ops.retain(|op| op.seq < len);
        }
        out
    }

    /// `Name: value CRLF` in place of `span`, refusing names that are not tokens, values
    /// that would break the line, and hand-made Content-Length headers.
    fn add_line(
        &mut self,
        span: Span,
        rank: Rank,
        name: &[u8],
        value: &[u8],
    ) -> Result<(), EditError> {
        check_line(name, value)?;
        self.check_free(span)?;
        let line = self.write(&[name, b": ", value, b"\r\n"]);
        self.push(span, rank, line);
        Ok(())
    }

    /// Appends `parts` to the written bytes, as one edit's replacement.
    fn write(&mut self, parts: &[&[u8]]) -> Bytes<'m> {
        let start = self.written.len();
        for part in parts {
            self.written.extend_from_slice(part);
        }
        Bytes::Written(Span {
            start: crate::span::to_u32(start),
            end: crate::span::to_u32(self.written.len()),
        })
    }

    /// Refuses an edit of bytes another edit already changes.
    fn check_free(&self, span: Span) -> Result<(), EditError> {
        if self.ops.iter().any(|op| overlaps(op.span, span)) {
            return Err(EditError::Overlap);
        }
        Ok(())
    }

    /// Adds an edit of bytes no other edit changes.
    fn add(&mut self, span: Span, rank: Rank, bytes: Bytes<'m>) -> Result<(), EditError> {
        self.check_free(span)?;
        self.push(span, rank, bytes);
        Ok(())
    }

    /// Inserts an edit [`Edits::check_free`] has cleared, in render order: by position;
    /// at one position insertions go before a replaced range, and insertions keep the
    /// caller's order, body headers last.
    fn push(&mut self, span: Span, rank: Rank, bytes: Bytes<'m>) {
        let op = Op {
            span,
            rank,
            seq: crate::span::to_u32(self.ops.len()),
            bytes,
        };
        let at = self
            .ops
            .partition_point(|other| other.order() <= op.order());
        self.ops.insert(at, op);
    }

    /// What replaces `op`'s span.
    fn bytes<'s>(&'s self, op: &'s Op<'m>) -> &'s [u8] {
        match &op.bytes {
            Bytes::Written(span) => span.slice(&self.written),
            Bytes::Body(body) => body,
        }
    }

    fn check_field(&self, field: &Field) -> Result<(), EditError> {
        let fields = self.msg.fields();
        match fields.binary_search_by_key(&field.name.start, |f| f.name.start) {
            Ok(i) if fields.get(i) == Some(field) => Ok(()),
            _ => Err(EditError::UnknownField),
        }
    }

    fn refuse_content_length(&self, kind: HeaderKind) -> Result<(), EditError> {
        if kind == HeaderKind::ContentLength {
            Err(EditError::ContentLength)
        } else {
            Ok(())
        }
    }
}

/// Whether two edits touch the same original bytes. Insertions (empty spans) clash
/// only with a range that strictly contains their position; two insertions never do.
fn overlaps(a: Span, b: Span) -> bool {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => false,
        (true, false) => b.start < a.start && a.start < b.end,
        (false, true) => a.start < b.start && b.start < a.end,
        (false, false) => a.start < b.end && b.start < a.end,
    }
}

impl Op<'_> {
    /// Where this edit renders among the others.
    fn order(&self) -> (u32, bool, Rank, u32) {
        (self.span.start, !self.span.is_empty(), self.rank, self.seq)
    }
}

impl Bytes<'_> {
    /// Nothing: a removal.
    const NONE: Self = Self::Body(Cow::Borrowed(&[]));
}

/// Whether `Name: value CRLF` may be written: a token for a name, no CR or LF in the
/// value, and never a hand-made Content-Length.
fn check_line(name: &[u8], value: &[u8]) -> Result<(), EditError> {
    if !is_token_str(name) {
        return Err(EditError::InvalidName);
    }
    if HeaderKind::from_name(name) == HeaderKind::ContentLength {
        return Err(EditError::ContentLength);
    }
    if memchr::memchr2(b'\r', b'\n', value).is_some() {
        return Err(EditError::InvalidValue);
    }
    Ok(())
}

/// Decimal digits of `n` without `alloc::format!`.
fn itoa(mut n: usize) -> impl AsRef<[u8]> {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        if let Some(d) = buf.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    Digits { buf, start: i }
}

struct Digits {
    buf: [u8; 20],
    start: usize,
}

impl AsRef<[u8]> for Digits {
    fn as_ref(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }
}
