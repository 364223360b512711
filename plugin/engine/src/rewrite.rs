//! The change the engine makes to a message, as data.
//!
//! A verdict carries its change twice over: as the rendered bytes (what Envoy and the
//! harness forward) and as this owned edit list (what a host that rewrites through its own
//! primitives applies — Kamailio's lumps, say — without re-parsing our output). One list
//! produces both: [`apply`] renders it through `e911_sip::Edits`, so the two never differ.

use core::fmt;
use std::borrow::Cow;

use e911_sip::{EditError, Edits, HeaderKind, Message, ParseError};

/// Where a new header line goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Position {
    /// At the end of the header section.
    End,
    /// Before the field with this index in the original message's field list.
    Before(u32),
}

/// One change to the original message. Field indices count the original's header fields
/// in wire order, from 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EditOp {
    /// Replace the Request-URI.
    SetRequestUri(String),
    /// Add a header line.
    InsertHeader {
        /// The header name: one of ours (borrowed, so an edit list the engine builds and
        /// drops allocates no names), or a host's own.
        name: Cow<'static, str>,
        /// The value.
        value: String,
        /// Where.
        position: Position,
    },
    /// Replace a header field's value (the line is re-rendered as `Name: value`).
    ReplaceHeader {
        /// Index of the field.
        field: u32,
        /// The new value.
        value: String,
    },
    /// Remove a header field.
    RemoveHeader {
        /// Index of the field.
        field: u32,
    },
    /// Replace the body; Content-Type and Content-Length follow.
    SetBody {
        /// The new Content-Type value.
        content_type: String,
        /// The new body.
        body: Vec<u8>,
    },
}

impl EditOp {
    /// A header line of ours added at the end of the header section.
    pub(crate) fn header(name: &'static str, value: String) -> Self {
        Self::InsertHeader {
            name: Cow::Borrowed(name),
            value,
            position: Position::End,
        }
    }
}

/// Renders `ops` against `msg`. An index that names no field, overlapping edits or an
/// unsafe value are errors, never a silently different message.
pub fn apply<'o>(
    msg: &Message<'_>,
    ops: impl IntoIterator<Item = &'o EditOp>,
) -> Result<Vec<u8>, EditError> {
    edits(msg, ops).map(|edits| edits.render())
}

/// `ops` as an edit list against `msg`.
fn edits<'m, 'a, 'o: 'm>(
    msg: &'m Message<'a>,
    ops: impl IntoIterator<Item = &'o EditOp>,
) -> Result<Edits<'m, 'a>, EditError> {
    let mut edits = Edits::new(msg);
    let field = |i: &u32| msg.fields().get(*i as usize).ok_or(EditError::UnknownField);
    for op in ops {
        match op {
            EditOp::SetRequestUri(uri) => edits.set_request_uri(uri)?,
            EditOp::InsertHeader {
                name,
                value,
                position: Position::End,
            } => {
                edits.push_header(name, value)?;
            }
            EditOp::InsertHeader {
                name,
                value,
                position: Position::Before(i),
            } => {
                edits.insert_before(field(i)?, name, value)?;
            }
            EditOp::ReplaceHeader { field: i, value } => edits.replace_value(field(i)?, value)?,
            EditOp::RemoveHeader { field: i } => edits.remove(field(i)?)?,
            EditOp::SetBody { content_type, body } => {
                edits.set_body(content_type.as_bytes(), body.as_slice())?;
            }
        }
    }
    Ok(edits)
}

/// Why a planned rewrite was not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RewriteError {
    /// The edit list itself was refused.
    Edit(EditError),
    /// The rendered message does not parse strictly: whatever let the input in, nothing
    /// we forward may be something a strict parser at the provider refuses.
    NotStrict(ParseError),
}

impl fmt::Display for RewriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Edit(err) => write!(f, "{err}"),
            Self::NotStrict(err) => write!(f, "the rewritten message would not parse: {err}"),
        }
    }
}

/// Renders `ops` against `msg` and checks that the result parses under strict syntax
/// (without size limits of our own: a message that arrived over them is still sent on;
/// [`Edits::render_checked`]). Every message the engine rewrites goes through here.
pub fn apply_checked<'o>(
    msg: &Message<'_>,
    ops: impl IntoIterator<Item = &'o EditOp>,
) -> Result<Vec<u8>, RewriteError> {
    edits(msg, ops)
        .map_err(RewriteError::Edit)?
        .render_checked()
        .map_err(RewriteError::NotStrict)
}

/// Indices of every field of `kind`, in wire order.
pub(crate) fn fields<'m>(msg: &'m Message<'_>, kind: HeaderKind) -> impl Iterator<Item = u32> + 'm {
    msg.fields()
        .iter()
        .enumerate()
        .filter(move |(_, f)| f.kind == kind)
        .filter_map(|(i, _)| u32::try_from(i).ok())
}

/// `Priority: <value>` (RFC 3261 §20.26): the first Priority field rewritten when it says
/// something else, the others removed, one added when there is none. Nothing when the
/// message already says exactly this.
pub(crate) fn priority_ops(msg: &Message<'_>, value: &str, ops: &mut Vec<EditOp>) {
    let mut found = fields(msg, HeaderKind::Priority);
    let Some(first) = found.next() else {
        ops.push(EditOp::header("Priority", value.to_owned()));
        return;
    };
    let same = msg
        .fields()
        .get(first as usize)
        .is_some_and(|f| msg.slice(f.value).eq_ignore_ascii_case(value.as_bytes()));
    if !same {
        ops.push(EditOp::ReplaceHeader {
            field: first,
            value: value.to_owned(),
        });
    }
    ops.extend(found.map(|field| EditOp::RemoveHeader { field }));
}

/// The Priority the message carried, when it differs from `value` (for the audit).
pub(crate) fn other_priority(msg: &Message<'_>, value: &str) -> Option<String> {
    let first = fields(msg, HeaderKind::Priority).next()?;
    let written = msg.slice(msg.fields().get(first as usize)?.value);
    (!written.eq_ignore_ascii_case(value.as_bytes()))
        .then(|| String::from_utf8_lossy(written).into_owned())
}

/// Every P-Asserted-Identity removed (RFC 3325 §5: from outside the trust domain).
pub(crate) fn strip_asserted_identity<'m>(
    msg: &'m Message<'_>,
) -> impl Iterator<Item = EditOp> + 'm {
    fields(msg, HeaderKind::PAssertedIdentity).map(|field| EditOp::RemoveHeader { field })
}

#[cfg(test)]
mod tests {
    use super::*;
    use e911_sip::{Limits, parse};

    const MSG: &[u8] =
        b"INVITE sip:911@contoso.com SIP/2.0\r\nVia: SIP/2.0/TCP h;branch=z9hG4bK1\r\n\
        From: <sip:a@contoso.com>;tag=1\r\nTo: <sip:911@contoso.com>\r\nCall-ID: c\r\n\
        CSeq: 1 INVITE\r\nPriority: normal\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn no_ops_render_the_input() {
        let msg = parse(MSG, &Limits::DEFAULT).unwrap();
        assert_eq!(apply(&msg, &[]).unwrap(), MSG);
    }

    #[test]
    fn applies_every_kind_of_op() {
        let msg = parse(MSG, &Limits::DEFAULT).unwrap();
        let ops = [
            EditOp::SetRequestUri("sip:911@esp.example.net".to_owned()),
            EditOp::InsertHeader {
                name: "Route".into(),
                value: "<sip:esp.example.net;lr>".to_owned(),
                position: Position::Before(1),
            },
            EditOp::ReplaceHeader {
                field: 5,
                value: "psap-callback".to_owned(),
            },
            EditOp::RemoveHeader { field: 0 },
            EditOp::SetBody {
                content_type: "text/plain".to_owned(),
                body: b"hi".to_vec(),
            },
        ];
        let out = String::from_utf8(apply(&msg, &ops).unwrap()).unwrap();
        assert!(
            out.starts_with(
                "INVITE sip:911@esp.example.net SIP/2.0\r\nRoute: <sip:esp.example.net;lr>\r\nFrom:"
            ),
            "{out}"
        );
        assert!(!out.contains("Via:"));
        assert!(out.contains("Priority: psap-callback\r\n"));
        assert!(
            out.contains("Content-Length: 2\r\n") && out.ends_with("\r\n\r\nhi"),
            "{out}"
        );
    }

    #[test]
    fn refuses_a_field_index_past_the_end() {
        let msg = parse(MSG, &Limits::DEFAULT).unwrap();
        assert_eq!(
            apply(&msg, &[EditOp::RemoveHeader { field: 99 }]),
            Err(EditError::UnknownField)
        );
    }
}
