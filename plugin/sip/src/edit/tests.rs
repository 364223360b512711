//! Edit-list tests: exact outputs, refusals, and a slow line-model reference that
//! `render` must agree with on generated messages and edit sequences.

use alloc::string::{String, ToString};
use alloc::vec::Vec;

use super::*;
use crate::{Leniency, Limits, parse};

const MSG: &[u8] = b"INVITE sip:911@pbx.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
f: <sip:alice@example.com>;tag=1\r\n\
To: <sip:911@pbx.example.com>\r\n\
Subject: folded\r\n  subject\r\n\
c: application/sdp\r\n\
l: 5\r\n\
\r\n\
v=0\r\n";

fn msg() -> Message<'static> {
    parse(MSG, &Limits::DEFAULT).unwrap()
}

fn field(m: &Message<'_>, kind: HeaderKind) -> Field {
    *m.fields_of(kind).next().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn renders_the_input_without_edits() {
    let m = msg();
    let e = Edits::new(&m);
    assert!(e.is_empty());
    assert_eq!(e.render(), MSG);
    assert_eq!(e.rendered_len(), MSG.len());
}

#[test]
fn inserts_replaces_and_removes_whole_lines() {
    let m = msg();
    let mut e = Edits::new(&m);
    e.push_header("Geolocation-Routing", "yes").unwrap();
    e.insert_before(
        &field(&m, HeaderKind::Via),
        "Route",
        "<sip:trunk.example.net;lr>",
    )
    .unwrap();
    e.insert_after(&field(&m, HeaderKind::Subject), "X-After", b"1")
        .unwrap();
    e.replace_value(&field(&m, HeaderKind::From), "<sip:elin@example.com>;tag=1")
        .unwrap();
    e.remove(&field(&m, HeaderKind::To)).unwrap();
    e.set_request_uri("sip:+13165550100@trunk.example.net")
        .unwrap();
    let out = e.render();
    assert_eq!(
        text(&out),
        "INVITE sip:+13165550100@trunk.example.net SIP/2.0\r\n\
Route: <sip:trunk.example.net;lr>\r\n\
Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n\
From: <sip:elin@example.com>;tag=1\r\n\
Subject: folded\r\n  subject\r\n\
X-After: 1\r\n\
c: application/sdp\r\n\
l: 5\r\n\
Geolocation-Routing: yes\r\n\
\r\n\
v=0\r\n"
    );
    assert_eq!(out.len(), e.rendered_len());
    assert_eq!(out.capacity(), out.len());
}

#[test]
fn body_edit_rewrites_compact_content_type_and_length() {
    let m = msg();
    let mut e = Edits::new(&m);
    e.set_body(
        b"multipart/mixed;boundary=b1",
        b"--b1\r\n\r\nx\r\n--b1--\r\n".to_vec(),
    )
    .unwrap();
    let out = e.render();
    let again = parse(&out, &Limits::DEFAULT).unwrap();
    assert_eq!(again.content_length(), Some(again.body().len() as u32));
    assert!(again.content_type().unwrap().is_multipart());
    assert!(
        text(&out).contains(
            "Content-Type: multipart/mixed;boundary=b1\r\nContent-Length: 19\r\n\r\n--b1"
        )
    );
    assert!(!text(&out).contains("l: 5"));
}

#[test]
fn body_edit_adds_missing_headers_and_replaces_duplicates() {
    let buf = b"MESSAGE sip:a SIP/2.0\r\nContent-Type: text/plain\r\nX: 1\r\nc: text/html\r\n\r\n";
    let m = parse(buf, &Limits::DEFAULT).unwrap();
    let mut e = Edits::new(&m);
    e.push_header("Y", "2").unwrap();
    e.set_body(b"text/plain", &b"hello"[..]).unwrap();
    assert_eq!(
        text(&e.render()),
        "MESSAGE sip:a SIP/2.0\r\nContent-Type: text/plain\r\nX: 1\r\nY: 2\r\nContent-Length: 5\r\n\r\nhello"
    );
}

#[test]
fn clear_body_leaves_length_zero_and_no_type() {
    let m = msg();
    let mut e = Edits::new(&m);
    e.clear_body().unwrap();
    let out = e.render();
    assert!(text(&out).ends_with("Subject: folded\r\n  subject\r\nContent-Length: 0\r\n\r\n"));
    assert!(!text(&out).contains("application/sdp"));
}

#[test]
fn body_edit_adds_the_blank_line_a_lenient_message_lacked() {
    let buf = b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n";
    let limits = Limits::DEFAULT.with_leniency(Leniency {
        allow_missing_blank_line: true,
        ..Leniency::STRICT
    });
    let m = parse(buf, &limits).unwrap();
    let mut e = Edits::new(&m);
    e.set_body(b"text/plain", &b"hi"[..]).unwrap();
    let out = e.render();
    assert_eq!(
        text(&out),
        "OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi"
    );
}

#[test]
fn refuses_overlapping_edits_and_stays_unchanged() {
    let m = msg();
    let mut e = Edits::new(&m);
    let subject = field(&m, HeaderKind::Subject);
    e.remove(&subject).unwrap();
    assert_eq!(e.remove(&subject), Err(EditError::Overlap));
    assert_eq!(e.replace_value(&subject, "x"), Err(EditError::Overlap));
    let ct = field(&m, HeaderKind::ContentType);
    e.replace_value(&ct, "text/plain").unwrap();
    let before = e.render();
    assert_eq!(
        e.set_body(b"text/plain", &b"x"[..]),
        Err(EditError::Overlap)
    );
    assert_eq!(e.render(), before);
    assert_eq!(e.ops.len(), 2);
}

#[test]
fn refuses_a_second_body_even_without_content_headers() {
    let buf = b"OPTIONS sip:a SIP/2.0\r\nCSeq: 1 OPTIONS\r\n\r\n";
    let m = parse(buf, &Limits::DEFAULT).unwrap();
    let mut e = Edits::new(&m);
    e.set_body(b"text/plain", &b"a"[..]).unwrap();
    assert_eq!(
        e.set_body(b"text/plain", &b"b"[..]),
        Err(EditError::Overlap)
    );
    assert_eq!(e.clear_body(), Err(EditError::Overlap));
}

#[test]
fn content_length_is_reserved_for_body_edits() {
    let m = msg();
    let mut e = Edits::new(&m);
    let cl = field(&m, HeaderKind::ContentLength);
    assert_eq!(e.remove(&cl), Err(EditError::ContentLength));
    assert_eq!(e.replace_value(&cl, "0"), Err(EditError::ContentLength));
    assert_eq!(
        e.push_header("Content-Length", "0"),
        Err(EditError::ContentLength)
    );
    assert_eq!(e.push_header("L", "0"), Err(EditError::ContentLength));
    assert_eq!(
        e.remove_all(HeaderKind::ContentLength),
        Err(EditError::ContentLength)
    );
    assert!(e.is_empty());
}

#[test]
fn refuses_injection_and_foreign_fields() {
    let m = msg();
    let mut e = Edits::new(&m);
    assert_eq!(
        e.push_header("X", "a\r\nVia: evil"),
        Err(EditError::InvalidValue)
    );
    assert_eq!(e.push_header("X Y", "a"), Err(EditError::InvalidName));
    assert_eq!(e.push_header("", "a"), Err(EditError::InvalidName));
    assert_eq!(e.set_request_uri("sip:a b"), Err(EditError::InvalidValue));
    assert_eq!(e.set_request_uri("<sip:a>"), Err(EditError::InvalidValue));
    assert_eq!(e.set_body(b"", &b""[..]), Err(EditError::InvalidValue));
    let other = parse(b"OPTIONS sip:a SIP/2.0\r\nXX: 1\r\n\r\n", &Limits::DEFAULT).unwrap();
    assert_eq!(e.remove(&other.fields()[0]), Err(EditError::UnknownField));
    let resp = parse(b"SIP/2.0 200 OK\r\n\r\n", &Limits::DEFAULT).unwrap();
    assert_eq!(
        Edits::new(&resp).set_request_uri("sip:a"),
        Err(EditError::NotARequest)
    );
}

#[test]
fn remove_all_removes_every_line_of_a_kind() {
    let buf = b"INVITE sip:a SIP/2.0\r\nP-Asserted-Identity: <sip:a@b>\r\nX: 1\r\nP-Asserted-Identity: <tel:+1>\r\n\r\n";
    let m = parse(buf, &Limits::DEFAULT).unwrap();
    let mut e = Edits::new(&m);
    assert_eq!(e.remove_all(HeaderKind::PAssertedIdentity), Ok(2));
    e.push_header("P-Asserted-Identity", "<tel:+13165550100>")
        .unwrap();
    assert_eq!(
        text(&e.render()),
        "INVITE sip:a SIP/2.0\r\nX: 1\r\nP-Asserted-Identity: <tel:+13165550100>\r\n\r\n"
    );
}

#[test]
fn keeps_trailing_datagram_bytes_out() {
    let buf = b"OPTIONS sip:a SIP/2.0\r\nl: 0\r\n\r\nGARBAGE";
    let m = parse(buf, &Limits::DEFAULT).unwrap();
    assert_eq!(Edits::new(&m).render(), &buf[..buf.len() - 7]);
}

#[test]
fn itoa_writes_decimal() {
    assert_eq!(itoa(0).as_ref(), b"0");
    assert_eq!(itoa(65536).as_ref(), b"65536");
    assert_eq!(
        itoa(usize::MAX).as_ref().len(),
        usize::MAX.to_string().len()
    );
}

// ---- slow reference implementation and generated cases -------------------------

/// An edit as the reference model sees it: by field index, not by span.
#[derive(Clone, Debug)]
enum RefOp {
    Push(&'static str, Vec<u8>),
    Before(usize, &'static str, Vec<u8>),
    After(usize, &'static str, Vec<u8>),
    Replace(usize, Vec<u8>),
    Remove(usize),
    Uri(Vec<u8>),
    Body(Vec<u8>, Vec<u8>),
}

fn line(name: &[u8], value: &[u8]) -> Vec<u8> {
    [name, b": ", value, b"\r\n"].concat()
}

/// One field in the line model: lines inserted before it, itself (if kept), lines
/// inserted after it.
type ModelLine = (Vec<Vec<u8>>, Option<Vec<u8>>, Vec<Vec<u8>>);

/// The message as a list of lines: start line, one entry per field (cut at the next
/// field's name, not through `field_line`), lines pushed at the end, body headers,
/// then blank line and body.
struct Model<'m, 'a> {
    msg: &'m Message<'a>,
    start: Vec<u8>,
    lines: Vec<ModelLine>,
    tail: Vec<Vec<u8>>,
    body_tail: Vec<Vec<u8>>,
    rest: Vec<u8>,
}

impl<'m, 'a> Model<'m, 'a> {
    fn new(msg: &'m Message<'a>) -> Self {
        let src = msg.as_bytes();
        let fields = msg.fields();
        let header_end = msg.header_end().start as usize;
        let lines = fields
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let end = fields
                    .get(i + 1)
                    .map_or(header_end, |n| n.name.start as usize);
                (
                    Vec::new(),
                    Some(src[f.name.start as usize..end].to_vec()),
                    Vec::new(),
                )
            })
            .collect();
        Self {
            msg,
            start: src[..Self::first(msg)].to_vec(),
            lines,
            tail: Vec::new(),
            body_tail: Vec::new(),
            rest: src[header_end..].to_vec(),
        }
    }

    fn first(msg: &Message<'_>) -> usize {
        msg.fields()
            .first()
            .map_or(msg.header_end().start, |f| f.name.start) as usize
    }

    fn apply(&mut self, op: &RefOp) {
        let m = self.msg;
        match op {
            RefOp::Push(n, v) => self.tail.push(line(n.as_bytes(), v)),
            RefOp::Before(i, n, v) => self.lines[*i].0.push(line(n.as_bytes(), v)),
            RefOp::After(i, n, v) => self.lines[*i].2.push(line(n.as_bytes(), v)),
            RefOp::Replace(i, v) => {
                let f = m.fields()[*i];
                let name = f
                    .kind
                    .name()
                    .map_or(m.name(&f).to_vec(), |n| n.as_bytes().to_vec());
                self.lines[*i].1 = Some(line(&name, v));
            }
            RefOp::Remove(i) => self.lines[*i].1 = None,
            RefOp::Uri(u) => {
                let StartLine::Request(r) = m.start_line() else {
                    unreachable!()
                };
                let eol = &m.as_bytes()[r.version.end as usize..Self::first(m)];
                self.start = [m.slice(r.method), b" ", u, b" ", m.slice(r.version), eol].concat();
            }
            RefOp::Body(ct, body) => self.set_body(ct, body),
        }
    }

    fn set_body(&mut self, ct: &[u8], body: &[u8]) {
        let m = self.msg;
        for (kind, new) in [
            (HeaderKind::ContentType, line(b"Content-Type", ct)),
            (
                HeaderKind::ContentLength,
                line(b"Content-Length", body.len().to_string().as_bytes()),
            ),
        ] {
            let mut new = Some(new);
            for (i, f) in m.fields().iter().enumerate() {
                if f.kind == kind {
                    self.lines[i].1 = Some(new.take().unwrap_or_default());
                }
            }
            self.body_tail.extend(new);
        }
        let blank = &m.as_bytes()[m.header_end().start as usize..m.body_span().start as usize];
        self.rest = [
            if blank.is_empty() {
                &b"\r\n"[..]
            } else {
                blank
            },
            body,
        ]
        .concat();
    }

    fn join(self) -> Vec<u8> {
        let mut out = self.start;
        for (before, l, after) in self.lines {
            out.extend(before.concat());
            out.extend(l.unwrap_or_default());
            out.extend(after.concat());
        }
        out.extend(self.tail.concat());
        out.extend(self.body_tail.concat());
        out.extend(self.rest);
        out
    }
}

/// The slow reference: applies each edit to the line model and joins the lines.
fn reference(m: &Message<'_>, ops: &[RefOp]) -> Vec<u8> {
    let mut model = Model::new(m);
    for op in ops {
        model.apply(op);
    }
    model.join()
}

/// xorshift64*: deterministic, dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len())]
    }
}

const NAMES: &[&str] = &[
    "Via",
    "v",
    "From",
    "To",
    "t",
    "Subject",
    "X-Custom",
    "c",
    "Content-Type",
    "l",
    "Content-Length",
    "Geolocation",
    "Route",
    "Priority",
];
const VALUES: &[&str] = &[
    "SIP/2.0/UDP h;branch=z9hG4bK1",
    "<sip:a@b>;tag=1",
    "x",
    "",
    "folded\r\n  value",
    "application/sdp",
    "<cid:loc@x>",
];

/// A random message: request line, a few header lines (compact forms, folding, empty
/// values, duplicates), optionally LF-only, a body with or without Content-Length.
fn gen_message(rng: &mut Rng) -> (Vec<u8>, Limits) {
    let lf = rng.below(4) == 0;
    let eol: &[u8] = if lf { b"\n" } else { b"\r\n" };
    let mut m = b"INVITE sip:911@pbx SIP/2.0".to_vec();
    m.extend_from_slice(eol);
    let body: &[u8] = [&b""[..], b"v=0\r\n", b"\x00\r\n--\xff"][rng.below(3)];
    let mut has_length = false;
    for _ in 0..rng.below(7) {
        let name = rng.pick(NAMES);
        if HeaderKind::from_name(name.as_bytes()) == HeaderKind::ContentLength {
            if has_length {
                continue;
            }
            has_length = true;
            m.extend_from_slice(name.as_bytes());
            m.extend_from_slice(b": ");
            m.extend_from_slice(body.len().to_string().as_bytes());
        } else {
            let value = rng
                .pick(VALUES)
                .replace("\r\n", if lf { "\n" } else { "\r\n" });
            m.extend_from_slice(name.as_bytes());
            m.extend_from_slice(b": ");
            m.extend_from_slice(value.as_bytes());
        }
        m.extend_from_slice(eol);
    }
    m.extend_from_slice(eol);
    m.extend_from_slice(body);
    let leniency = Leniency {
        allow_lf_only_line_ends: lf,
        ..Leniency::STRICT
    };
    (m, Limits::DEFAULT.with_leniency(leniency))
}

/// A random edit, applied to both `Edits` and the reference list when accepted.
fn gen_edit(rng: &mut Rng, m: &Message<'_>, e: &mut Edits<'_, '_>, ops: &mut Vec<RefOp>) {
    let n = m.fields().len();
    let name = rng.pick(&["X-New", "Geolocation", "Route"]);
    let value = rng
        .pick(&[VALUES, &["  ", "\u{1}", "\u{7f}é"]].concat())
        .replace("\r\n", " ")
        .into_bytes();
    let i = if n == 0 { 0 } else { rng.below(n) };
    let f = m.fields().get(i).copied();
    let (res, op) = match (rng.below(7), f) {
        (0, _) | (_, None) => (e.push_header(name, &value), RefOp::Push(name, value)),
        (1, Some(f)) => (
            e.insert_before(&f, name, &value),
            RefOp::Before(i, name, value),
        ),
        (2, Some(f)) => (
            e.insert_after(&f, name, &value),
            RefOp::After(i, name, value),
        ),
        (3, Some(f)) => (e.replace_value(&f, &value), RefOp::Replace(i, value)),
        (4, Some(f)) => (e.remove(&f), RefOp::Remove(i)),
        (5, _) => {
            let uri = rng.pick(&[
                "sip:+13165550100@trunk",
                "tel:911",
                "urn:service:sos",
                "sip:911@[2001:db8::1]",
                "sip:%zz@h",
                "x",
                "*",
            ]);
            (e.set_request_uri(uri), RefOp::Uri(uri.as_bytes().to_vec()))
        }
        _ => {
            let body = [&b""[..], b"--b\r\n\r\nx\r\n--b--\r\n", b"\x00\x01"][rng.below(3)].to_vec();
            (
                e.set_body(b"multipart/mixed;boundary=b", body.clone()),
                RefOp::Body(b"multipart/mixed;boundary=b".to_vec(), body),
            )
        }
    };
    if res.is_ok() {
        ops.push(op);
    }
}

#[test]
fn render_matches_the_reference_on_generated_cases() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut checked = 0;
    let mut strict_renders = 0;
    for case in 0..3000 {
        let (buf, limits) = gen_message(&mut rng);
        let m =
            parse(&buf, &limits).unwrap_or_else(|e| panic!("case {case}: {e} in {:?}", text(&buf)));
        assert_eq!(
            Edits::new(&m).render(),
            m.as_bytes(),
            "identity, case {case}"
        );
        let mut e = Edits::new(&m);
        let mut ops = Vec::new();
        for _ in 0..rng.below(6) {
            gen_edit(&mut rng, &m, &mut e, &mut ops);
        }
        let out = e.render();
        assert_eq!(
            text(&out),
            text(&reference(&m, &ops)),
            "case {case}: {ops:?} on {:?}",
            text(&buf)
        );
        assert_eq!(out.len(), e.rendered_len());
        // The checked render agrees with a full strict parse of what it rendered, and
        // over a strictly parsed message parses only the start line again.
        let full = parse(&out, &Limits::STRICT_UNBOUNDED).map(drop);
        assert_eq!(e.render_checked().map(drop), full, "case {case}: {ops:?}");
        strict_renders += usize::from(m.parsed_strictly() && full.is_ok());
        if ops.iter().any(|o| matches!(o, RefOp::Body(..))) {
            let again = parse(&out, &limits)
                .unwrap_or_else(|e| panic!("case {case}: {e} in {:?}", text(&out)));
            assert_eq!(
                again.content_length(),
                Some(again.body().len() as u32),
                "case {case}"
            );
            assert_eq!(again.fields_of(HeaderKind::ContentLength).count(), 1);
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} body edits were generated");
    assert!(
        strict_renders > 1500,
        "only {strict_renders} strict renders"
    );
}
