//! RFC 4475 and RFC 5118 torture messages through framing, parsing, typed views and
//! rendering. The corpora live in `shared/conformance/` beside the repository; every
//! file there must be claimed by its `manifest.tsv`.
//!
//! Per file class:
//! - `valid`: parses strictly (except the corpus defects listed in [`DEFECTS`], which
//!   parse only with the leniency named there), renders byte-identical with no edits,
//!   and the facts in `valid_facts` hold.
//! - `invalid`: strict and tolerant parses either fail with a typed `ParseError` or
//!   give a message that renders byte-identical; `invalid_facts` pins down which
//!   happens and, when the message parses, which typed view catches the problem.
//! - every file: framing, parsing, all views and rendering never panic, on the whole
//!   file, on every prefix, and on deterministic mutations.

// clippy.toml allows these in #[test] functions only; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use e911_sip::uri::percent_decode;

use e911_sip::{
    AddrForm, Edits, Framed, HeaderErrorKind, HeaderKind, Host, Leniency, Limits, Message, Method,
    ParseErrorKind, Reach, SipUri, Transport, Uri, UriErrorKind, addressing, frame, parse,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Valid,
    Invalid,
}

struct Case {
    corpus: &'static str,
    name: String,
    expect: Expect,
    bytes: Vec<u8>,
}

/// Manifest says `valid`, but the bytes as archived need a leniency; the corpus README
/// documents each one.
const DEFECTS: &[(&str, &str, ParseErrorKind, Leniency)] = &[(
    "rfc5118",
    "ipv6-in-sdp",
    // README: "ipv6-in-sdp says 268 (body 242 bytes with LF, 251 with CRLF)".
    ParseErrorKind::BodyLength,
    Leniency {
        allow_short_body: true,
        ..Leniency::STRICT
    },
)];

/// Files in a corpus folder that are not messages.
const NOT_MESSAGES: &[&str] = &["README.md", "SHA256SUMS", "manifest.tsv"];

fn corpus_dir(corpus: &str) -> PathBuf {
    // The repository is cloned beside `shared/`: plugin/sip -> ../../../shared.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/conformance")
        .join(corpus)
}

/// RFC 5118 messages are read from `wire/`, the CRLF copies (see its README).
fn message_dir(corpus: &str) -> PathBuf {
    match corpus {
        "rfc5118" => corpus_dir(corpus).join("wire"),
        _ => corpus_dir(corpus),
    }
}

fn manifest(corpus: &'static str) -> Vec<(String, Expect)> {
    let text = fs::read_to_string(corpus_dir(corpus).join("manifest.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            let expect = match cols[2] {
                "valid" => Expect::Valid,
                "invalid" => Expect::Invalid,
                other => panic!("{corpus}/{}: unknown expectation {other}", cols[0]),
            };
            (cols[0].to_owned(), expect)
        })
        .collect()
}

fn cases() -> Vec<Case> {
    let mut all = Vec::new();
    for corpus in ["rfc4475", "rfc5118"] {
        for (name, expect) in manifest(corpus) {
            let bytes = fs::read(message_dir(corpus).join(&name)).unwrap();
            all.push(Case {
                corpus,
                name,
                expect,
                bytes,
            });
        }
    }
    all
}

fn tolerant() -> Limits {
    Limits::DEFAULT.with_leniency(Leniency::TOLERANT)
}

fn files_in(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file())
        .map(|e| e.file_name().into_string().unwrap())
        .filter(|n| !n.starts_with('.') && !NOT_MESSAGES.contains(&n.as_str()))
        .collect()
}

#[test]
fn every_corpus_file_is_claimed_by_the_manifest() {
    for corpus in ["rfc4475", "rfc5118"] {
        let claimed: BTreeSet<String> = manifest(corpus).into_iter().map(|(n, _)| n).collect();
        let mut dirs = vec![corpus_dir(corpus)];
        if corpus == "rfc5118" {
            dirs.push(message_dir(corpus));
        }
        for dir in dirs {
            let present = files_in(&dir);
            let unclaimed: Vec<_> = present.difference(&claimed).collect();
            assert!(
                unclaimed.is_empty(),
                "{}: files with no manifest line: {unclaimed:?}",
                dir.display()
            );
            let missing: Vec<_> = claimed.difference(&present).collect();
            assert!(
                missing.is_empty(),
                "{}: manifest lines with no file: {missing:?}",
                dir.display()
            );
        }
    }
    assert_eq!(cases().len(), 50 + 12);
}

/// Renders with no edits and checks the output is the message, byte for byte.
fn assert_identity(case: &Case, msg: &Message<'_>) {
    let out = Edits::new(msg).render();
    assert_eq!(
        out,
        msg.as_bytes(),
        "{}: render without edits changed bytes",
        case.name
    );
    assert_eq!(&case.bytes[..msg.len()], msg.as_bytes());
    assert_eq!(&case.bytes[msg.len()..], msg.trailing());
}

#[test]
fn valid_messages_parse_and_render_byte_identical() {
    for case in cases().iter().filter(|c| c.expect == Expect::Valid) {
        let defect = DEFECTS
            .iter()
            .find(|d| d.0 == case.corpus && d.1 == case.name);
        let limits = match defect {
            Some(&(_, _, kind, leniency)) => {
                let err = parse(&case.bytes, &Limits::DEFAULT).unwrap_err();
                assert_eq!(err.kind, kind, "{}: documented defect", case.name);
                Limits::DEFAULT.with_leniency(leniency)
            }
            None => Limits::DEFAULT,
        };
        let msg = parse(&case.bytes, &limits)
            .unwrap_or_else(|e| panic!("{}/{}: {e}", case.corpus, case.name));
        assert_identity(case, &msg);
        valid_facts(&case.name, &msg);
    }
}

#[test]
fn invalid_messages_are_rejected_or_pass_through_unchanged() {
    for case in cases().iter().filter(|c| c.expect == Expect::Invalid) {
        for limits in [Limits::DEFAULT, tolerant()] {
            if let Ok(msg) = parse(&case.bytes, &limits) {
                assert_identity(case, &msg);
            }
        }
        invalid_facts(case);
    }
}

fn sip(u: Result<Uri<'_>, e911_sip::UriError>) -> SipUri<'_> {
    match u {
        Ok(Uri::Sip(s)) => s,
        other => panic!("not a SIP URI: {other:?}"),
    }
}

/// Invalid messages the parser refuses: file, error when strict, error under
/// `Leniency::TOLERANT` (`None`: the tolerant parse accepts it, and a view catches it).
const REFUSED: &[(&str, ParseErrorKind, Option<ParseErrorKind>)] = &[
    ("clerr.dat", ParseErrorKind::BodyLength, None),
    (
        "ncl.dat",
        ParseErrorKind::ContentLength,
        Some(ParseErrorKind::ContentLength),
    ),
    (
        "mcl01.dat",
        ParseErrorKind::ContentLength,
        Some(ParseErrorKind::ContentLength),
    ),
    (
        "ltgtruri.dat",
        ParseErrorKind::RequestUri,
        Some(ParseErrorKind::RequestUri),
    ),
    (
        "lwsruri.dat",
        ParseErrorKind::Version,
        Some(ParseErrorKind::StartLine),
    ),
    ("lwsstart.dat", ParseErrorKind::RequestUri, None),
    ("trws.dat", ParseErrorKind::Version, None),
    (
        "badvers.dat",
        ParseErrorKind::Version,
        Some(ParseErrorKind::Version),
    ),
    (
        "bigcode.dat",
        ParseErrorKind::StatusCode,
        Some(ParseErrorKind::StatusCode),
    ),
    (
        "test.dat",
        ParseErrorKind::StartLine,
        Some(ParseErrorKind::StartLine),
    ),
    // As archived, no blank line after the last header.
    ("baddn.dat", ParseErrorKind::UnterminatedHeaders, None),
];

/// What each invalid message does: refused by the parser (and with what), or parsed,
/// with the typed view that catches the problem.
fn invalid_facts(case: &Case) {
    let b = &case.bytes[..];
    let refused = REFUSED.iter().find(|r| r.0 == case.name);
    let (limits, expected_tolerant) = match refused {
        Some(&(_, strict, tolerant_kind)) => {
            assert_eq!(
                parse(b, &Limits::DEFAULT).unwrap_err().kind,
                strict,
                "{}",
                case.name
            );
            (tolerant(), tolerant_kind)
        }
        None => (Limits::DEFAULT, None),
    };
    match (parse(b, &limits), expected_tolerant) {
        (Err(e), Some(kind)) => assert_eq!(e.kind, kind, "{}", case.name),
        (Ok(msg), None) => caught_by_views(&case.name, &msg),
        (other, _) => panic!("{}: unexpected {:?}", case.name, other.map(|m| m.len())),
    }
}

/// For invalid messages that parse: the view that sees what is wrong.
fn caught_by_views(name: &str, msg: &Message<'_>) {
    match name {
        "clerr.dat" => assert_eq!(msg.content_length(), Some(9999)),
        "lwsstart.dat" => assert_eq!(sip(msg.request_uri()).user, Some(&b"user"[..])),
        "trws.dat" => assert!(msg.request_uri().is_ok()),
        "baddn.dat" => {
            assert_eq!(msg.from().unwrap_err().kind, HeaderErrorKind::Syntax);
            assert_eq!(msg.to().unwrap_err().kind, HeaderErrorKind::Syntax);
        }
        "badinv01.dat" => {
            assert!(msg.top_via().is_err());
            assert!(msg.name_addrs(HeaderKind::Contact).any(|c| c.is_err()));
        }
        "quotbal.dat" => assert_eq!(msg.to().unwrap_err().kind, HeaderErrorKind::Quote),
        "badaspec.dat" => assert_eq!(msg.to().unwrap_err().kind, HeaderErrorKind::Syntax),
        "regbadct.dat" => assert!(msg.name_addrs(HeaderKind::Contact).all(|c| c.is_err())),
        "escruri.dat" => assert_eq!(msg.request_uri().unwrap_err().kind, UriErrorKind::Headers),
        "scalar02.dat" => {
            assert_eq!(msg.cseq().unwrap_err().kind, HeaderErrorKind::Number);
            assert_eq!(
                msg.max_forwards().unwrap_err().kind,
                HeaderErrorKind::Number
            );
        }
        "scalarlg.dat" => assert_eq!(msg.cseq().unwrap_err().kind, HeaderErrorKind::Number),
        "multi01.dat" => {
            let errors = [
                msg.to().err(),
                msg.from().err(),
                msg.call_id().err(),
                msg.cseq().err(),
                msg.max_forwards().err(),
            ];
            assert!(
                errors
                    .iter()
                    .all(|e| e.is_some_and(|e| e.kind == HeaderErrorKind::Duplicate))
            );
        }
        "mismatch01.dat" | "mismatch02.dat" => {
            assert_ne!(Some(msg.cseq().unwrap().method), msg.method())
        }
        "insuf.dat" => {
            let errors = [msg.to().err(), msg.from().err(), msg.call_id().err()];
            assert!(
                errors
                    .iter()
                    .all(|e| e.is_some_and(|e| e.kind == HeaderErrorKind::Missing))
            );
        }
        // A Date view is not this crate's business; it passes through untouched.
        "baddate.dat" => assert!(msg.has(HeaderKind::Date)),
        "ipv6-bad" => assert_eq!(msg.request_uri().unwrap_err().kind, UriErrorKind::Port),
        other => panic!("{other}: invalid message without pinned-down facts"),
    }
}

fn valid_facts(name: &str, msg: &Message<'_>) {
    match name {
        "wsinv.dat" => wsinv(msg),
        "intmeth.dat" => intmeth(msg),
        "esc01.dat" | "escnull.dat" | "esc02.dat" => escapes(name, msg),
        "mpart01.dat" => mpart01(msg),
        "cparam01.dat" | "cparam02.dat" => contact_params(name, msg),
        "longreq.dat" => {
            assert_eq!(msg.vias().count(), msg.fields_of(HeaderKind::Via).count());
            assert!(msg.vias().all(|v| v.is_ok()));
            assert_eq!(msg.body().len(), msg.content_length().unwrap() as usize);
            assert!(msg.to().unwrap().display_name.unwrap().len() > 90);
        }
        "semiuri.dat" => {
            let u = sip(msg.request_uri());
            assert_eq!(u.user, Some(&b"user;par=u%40example.net"[..]));
            assert_eq!(u.host, Host::Name(b"example.com"));
            assert!(u.params.is_empty());
        }
        "transports.dat" => {
            let t: Vec<_> = msg.vias().map(|v| v.unwrap().transport).collect();
            let expected = [
                Transport::Udp,
                Transport::Sctp,
                Transport::Tls,
                Transport::Other(b"UNKNOWN"),
                Transport::Tcp,
            ];
            assert_eq!(t, expected);
        }
        _ => small_facts(name, msg),
    }
}

fn small_facts(name: &str, msg: &Message<'_>) {
    match name {
        "lwsdisp.dat" => assert_eq!(msg.from().unwrap().display_name, Some(&b"caller"[..])),
        "dblreq.dat" => {
            assert!(
                msg.trailing()
                    .starts_with(b"\r\nINVITE sip:joe@example.com")
            );
            assert_eq!(msg.method(), Some(Method::Register));
        }
        "unreason.dat" => {
            assert_eq!(msg.status_code(), Some(200));
            assert!(
                std::str::from_utf8(msg.reason().unwrap())
                    .unwrap()
                    .contains("= 2**3 * 5**2")
            );
        }
        "noreason.dat" => assert_eq!(
            (msg.status_code(), msg.reason()),
            (Some(100), Some(&b""[..]))
        ),
        "badbranch.dat" => assert_eq!(msg.top_via().unwrap().branch(), Some(&b"z9hG4bK"[..])),
        "unkscm.dat" | "novelsc.dat" => assert!(matches!(msg.request_uri(), Ok(Uri::Other { .. }))),
        "unksm2.dat" => {
            assert_eq!(msg.to().unwrap().uri().unwrap().scheme(), b"isbn");
            assert_eq!(msg.from().unwrap().uri().unwrap().scheme(), b"http");
        }
        "bcast.dat" => assert_eq!(
            msg.vias().nth(1).unwrap().unwrap().host,
            Host::Ipv4(b"255.255.255.255")
        ),
        "zeromf.dat" => assert_eq!(msg.max_forwards(), Ok(0)),
        "regescrt.dat" => {
            let c = msg.name_addrs(HeaderKind::Contact).next().unwrap().unwrap();
            assert_eq!(
                sip(c.uri()).headers,
                Some(&b"Route=%3Csip:sip.example.com%3E"[..])
            );
        }
        "inv2543.dat" => {
            assert_eq!(msg.content_length(), None);
            assert!(msg.body().ends_with(b"m=audio 49217 RTP/AVP 0\r\n"));
            assert_eq!(msg.top_via().unwrap().branch(), None);
        }
        _ => rfc5118_facts(name, msg),
    }
}

fn wsinv(msg: &Message<'_>) {
    let to = msg.to().unwrap();
    assert_eq!(
        (to.uri, to.tag()),
        (
            &b"sip:vivekg@chair-dnrc.example.com"[..],
            Some(&b"1918181833n"[..])
        )
    );
    let from = msg.from().unwrap();
    assert_eq!(from.display_name, Some(&br#"J Rosenberg \\\""#[..]));
    assert_eq!(from.tag(), Some(&b"98asjd8"[..]));
    assert_eq!(msg.max_forwards(), Ok(68));
    assert_eq!(msg.cseq().unwrap().number, 9);
    assert_eq!(msg.cseq().unwrap().method, Method::Invite);
    let vias: Vec<_> = msg.vias().map(|v| v.unwrap()).collect();
    let hosts: Vec<_> = vias.iter().map(|v| v.host).collect();
    assert_eq!(
        hosts,
        [
            Host::Ipv4(b"192.0.2.2"),
            Host::Name(b"spindle.example.com"),
            Host::Ipv4(b"192.168.255.111")
        ]
    );
    assert_eq!(vias[2].branch(), Some(&b"z9hG4bK30239"[..]));
    assert_eq!(vias[1].transport, Transport::Tcp);
    let subject = msg.single(HeaderKind::Subject).unwrap();
    assert_eq!(msg.name(&subject), b"s");
    assert!(subject.value.is_empty());
    let newfangled = msg.headers_named(b"newfangledheader").next().unwrap();
    assert_eq!(
        newfangled,
        b"newfangled value\r\n continued newfangled value"
    );
    let contact = msg.name_addrs(HeaderKind::Contact).next().unwrap().unwrap();
    assert_eq!(contact.params.value(b"newparam"), Some(&b"newvalue"[..]));
    assert_eq!(contact.params.value(b"q"), Some(&b"0.33"[..]));
    assert!(contact.params.contains(b"secondparam"));
    assert_eq!(msg.name_addrs(HeaderKind::Route).count(), 1);
    assert!(msg.content_type().unwrap().is(b"application", b"sdp"));
    assert_eq!((msg.content_length(), msg.body().len()), (Some(150), 150));
}

fn intmeth(msg: &Message<'_>) {
    let method = b"!interesting-Method0123456789_*+`.%indeed'~";
    assert_eq!(msg.method(), Some(Method::Other(method)));
    assert_eq!(msg.cseq().unwrap().method, Method::Other(method));
    let u = sip(msg.request_uri());
    assert_eq!(
        u.user,
        Some(&b"1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*"[..])
    );
    assert_eq!(
        u.password,
        Some(&b"&it+has=1,weird!*pas$wo~d_too.(doesn't-it)"[..])
    );
    assert_eq!(u.host, Host::Name(b"example.com"));
    let to = msg.to().unwrap();
    assert!(to.display_name.unwrap().contains(&0), "quoted NUL is kept");
    assert!(to.uri().is_ok());
    let from = msg.from().unwrap();
    assert_eq!(
        from.display_name,
        Some(&b"token1~` token2'+_ token3*%!.-"[..])
    );
    assert_eq!(from.tag(), Some(&b"_token~1'+`*%!-."[..]));
    let utf8 = from.params.value(b"fromParam''~+*_!.-%").unwrap();
    assert!(std::str::from_utf8(utf8).is_ok());
    assert_eq!(
        msg.call_id().unwrap(),
        b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"
    );
    assert!(msg.top_via().unwrap().branch().is_some());
}

fn escapes(name: &str, msg: &Message<'_>) {
    match name {
        "esc01.dat" => {
            let u = sip(msg.request_uri());
            assert_eq!(&*percent_decode(u.user.unwrap()), b"sips:user@example.com");
            assert_eq!(
                &*percent_decode(sip(msg.to().unwrap().uri()).user.unwrap()),
                b"user"
            );
            assert_eq!(
                &*percent_decode(sip(msg.from().unwrap().uri()).user.unwrap()),
                b"I have spaces"
            );
            let contact = msg.name_addrs(HeaderKind::Contact).next().unwrap().unwrap();
            assert!(sip(contact.uri()).params.contains(b"%6C%72"));
            assert_eq!(msg.body().len(), 150);
        }
        "escnull.dat" => {
            // %00 is three characters of text, never a terminator: nothing truncates.
            let to = sip(msg.to().unwrap().uri());
            assert_eq!(&*percent_decode(to.user.unwrap()), b"null-\0-null");
            let users: Vec<Vec<u8>> = msg
                .name_addrs(HeaderKind::Contact)
                .map(|c| percent_decode(sip(c.unwrap().uri()).user.unwrap()).into_owned())
                .collect();
            assert_eq!(users, [b"\0".to_vec(), b"\0\0".to_vec()]);
            assert_eq!(msg.fields().len(), 9);
            assert_eq!(msg.content_length(), Some(0));
        }
        _ => {
            assert_eq!(msg.method(), Some(Method::Other(b"RE%47IST%45R")));
            assert_eq!(
                msg.name_addrs(HeaderKind::Contact).count(),
                2,
                "C%6Fntact is not Contact"
            );
            assert_eq!(msg.headers_named(b"C%6Fntact").count(), 1);
            assert_eq!(msg.to().unwrap().display_name, Some(&b"%Z%45"[..]));
            assert_eq!(
                msg.top_via().unwrap().branch(),
                Some(&b"z9hG4bK209%fzsnel234"[..])
            );
        }
    }
}

fn mpart01(msg: &Message<'_>) {
    assert_eq!(msg.body().len(), 553);
    assert!(msg.has(HeaderKind::Identity));
    let parts = msg.multipart(&Limits::DEFAULT).unwrap();
    assert_eq!(parts.len(), 2);
    assert!(parts[0].content_type().unwrap().is(b"text", b"plain"));
    assert_eq!(parts[0].body(), b"Hello");
    assert!(
        parts[1]
            .content_type()
            .unwrap()
            .is(b"application", b"octet-stream")
    );
    let smime = parts[1].body();
    assert!(smime.contains(&0), "binary part keeps its NULs");
    assert!(
        smime.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n'),
        "and its bare CRs"
    );
    assert_eq!(
        parts[1].header(HeaderKind::ContentTransferEncoding),
        Some(&b"binary"[..])
    );
    let end = parts[1].offset() + parts[1].as_bytes().len();
    assert_eq!(&msg.body()[end..], b"\r\n--7a9cbec02ceef655--\r\n");
}

fn contact_params(name: &str, msg: &Message<'_>) {
    let c = msg.name_addrs(HeaderKind::Contact).next().unwrap().unwrap();
    let uri = sip(c.uri());
    if name == "cparam01.dat" {
        assert_eq!(c.form, AddrForm::AddrSpec);
        assert!(c.params.contains(b"unknownparam"));
        assert!(uri.params.is_empty());
    } else {
        assert_eq!(c.form, AddrForm::NameAddr);
        assert!(c.params.is_empty());
        assert!(uri.params.contains(b"unknownparam"));
    }
}

fn rfc5118_facts(name: &str, msg: &Message<'_>) {
    let ruri = || sip(msg.request_uri());
    let vias = || msg.vias().map(|v| v.unwrap()).collect::<Vec<_>>();
    match name {
        "ipv6-good" => {
            assert_eq!(ruri().host, Host::Ipv6(b"2001:db8::10"));
            assert_eq!(vias()[0].host, Host::Ipv6(b"2001:db8::9:1"));
            let contact = msg.name_addrs(HeaderKind::Contact).next().unwrap().unwrap();
            assert_eq!(sip(contact.uri()).host, Host::Ipv6(b"2001:db8::1"));
        }
        "port-ambiguous" => assert_eq!(
            (ruri().host, ruri().port),
            (Host::Ipv6(b"2001:db8::10:5070"), None)
        ),
        "port-unambiguous" => assert_eq!(
            (ruri().host, ruri().port),
            (Host::Ipv6(b"2001:db8::10"), Some(5070))
        ),
        "via-received-param-with-delim" | "via-received-param-no-delim" => {
            assert_eq!(vias()[0].received(), Some(Host::Ipv6(b"2001:db8::9:255")));
        }
        "ipv6-in-sdp" | "mult-ip-in-sdp" => {
            assert_eq!(ruri().host, Host::Ipv6(b"2001:db8::10"));
            assert_eq!(
                sip(msg.to().unwrap().uri()).host,
                Host::Ipv6(b"2001:db8::10")
            );
            assert!(msg.body().windows(7).any(|w| w == b"IN IP6 "));
            if name == "mult-ip-in-sdp" {
                assert_eq!(
                    msg.trailing().len(),
                    8,
                    "Content-Length 181 of a 189-byte body"
                );
            }
        }
        "mult-ip-in-header" => {
            let v = vias();
            assert_eq!(
                (v[0].host, v[0].port),
                (Host::Ipv6(b"2001:db8::9:1"), Some(6050))
            );
            assert_eq!(v[1].host, Host::Ipv4(b"192.0.2.1"));
            assert_eq!(v[2].received(), Some(Host::Ipv4(b"192.0.2.200")));
        }
        "ipv4-mapped-ipv6" => {
            assert_eq!(
                (vias()[0].host, vias()[0].port),
                (Host::Ipv6(b"::ffff:192.0.2.10"), Some(19823))
            );
            assert_eq!(
                msg.trailing().len(),
                9,
                "Content-Length 236 of a 245-byte body"
            );
        }
        "ipv6-bug-abnf-3-colons" => assert_eq!(ruri().host, Host::Ipv6(b"2001:db8:::192.0.2.1")),
        "ipv6-correct-abnf-2-colons" => assert_eq!(ruri().host, Host::Ipv6(b"2001:db8::192.0.2.1")),
        // Remaining RFC 4475 valid messages: parse and identity are the assertion.
        _ => {}
    }
}

#[test]
fn dblreq_is_one_message_in_a_datagram_and_two_on_a_stream() {
    // RFC 4475 §3.1.1.8: over UDP the second request is trailing bytes to discard; a
    // stream framer sees it as the next message, after a CRLF keep-alive.
    let buf = fs::read(corpus_dir("rfc4475").join("dblreq.dat")).unwrap();
    let first = parse(&buf, &Limits::DEFAULT).unwrap().len();
    assert_eq!(
        frame(&buf, &Limits::DEFAULT),
        Framed::Message {
            skip: 0,
            len: first
        }
    );
    let rest = &buf[first..];
    let Framed::Message { skip, len } = frame(rest, &Limits::DEFAULT) else {
        panic!(
            "second request did not frame: {:?}",
            frame(rest, &Limits::DEFAULT)
        );
    };
    assert_eq!(skip, 2);
    let second = parse(&rest[skip..skip + len], &Limits::DEFAULT).unwrap();
    assert_eq!(second.method(), Some(Method::Invite));
    assert_eq!(second.body().len(), 150);
}

#[test]
fn rfc5118_archive_copies_parse_leniently_like_the_wire_copies() {
    // The top-level copies end lines with bare LF, and the §4.10 pair lack the blank
    // line: Leniency::TOLERANT takes them and decodes the same Request-URI.
    for (name, expect) in manifest("rfc5118") {
        let archived = fs::read(corpus_dir("rfc5118").join(&name)).unwrap();
        let wire = fs::read(message_dir("rfc5118").join(&name)).unwrap();
        assert!(
            parse(&archived, &Limits::DEFAULT).is_err(),
            "{name}: LF-only parsed strictly"
        );
        let a = parse(&archived, &tolerant()).unwrap_or_else(|e| panic!("{name}: {e}"));
        let w = parse(&wire, &tolerant()).unwrap();
        assert_eq!(Edits::new(&a).render(), a.as_bytes());
        assert_eq!(a.fields().len(), w.fields().len(), "{name}");
        if expect == Expect::Valid {
            assert_eq!(a.request_uri(), w.request_uri(), "{name}");
        }
    }
}

/// Calls every view and renders; results are ignored, panics are not.
fn exercise(buf: &[u8], limits: &Limits) {
    let _ = frame(buf, limits);
    let Ok(msg) = parse(buf, limits) else { return };
    let _ = (
        msg.request_uri(),
        msg.call_id(),
        msg.cseq(),
        msg.max_forwards(),
    );
    let _ = (
        msg.from(),
        msg.to(),
        msg.content_type(),
        msg.priority(),
        msg.geolocation_routing(),
    );
    for kind in [
        HeaderKind::Contact,
        HeaderKind::Route,
        HeaderKind::PAssertedIdentity,
    ] {
        for a in msg.name_addrs(kind).flatten() {
            let _ = a.uri();
        }
    }
    let _ = (
        msg.vias().count(),
        msg.geolocation().count(),
        msg.access_network_info().count(),
    );
    if let Ok(parts) = msg.multipart(limits) {
        for p in &parts {
            let _ = (p.content_type(), p.content_id(), p.body());
        }
    }
    let mut edits = Edits::new(&msg);
    assert_eq!(edits.render(), msg.as_bytes());
    let _ = edits.push_header("Geolocation-Routing", "yes");
    let _ = edits.set_body(b"text/plain", &b"x"[..]);
    let out = edits.render();
    assert_eq!(out.len(), edits.rendered_len());
}

#[test]
fn truncated_and_mutated_corpus_never_panics() {
    let mut seed: u64 = 0x243F_6A88_85A3_08D3;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for case in cases() {
        for limits in [Limits::DEFAULT, tolerant()] {
            exercise(&case.bytes, &limits);
            for cut in 0..case.bytes.len() {
                exercise(&case.bytes[..cut], &limits);
            }
        }
        for _ in 0..200 {
            let mut b = case.bytes.clone();
            for _ in 0..1 + next() % 4 {
                let i = (next() % b.len() as u64) as usize;
                let pool = b" \r\n:;,<>\"[]@%0\t/";
                b[i] = pool[(next() % pool.len() as u64) as usize];
            }
            exercise(&b, &tolerant());
            exercise(&b, &Limits::DEFAULT);
        }
    }
}

/// [`addressing`] reads the Request-URI and To of every torture message as the full
/// parse's views do, whenever the full parse succeeds, strictly and tolerantly.
#[test]
fn addressing_agrees_with_the_full_parse() {
    for case in cases() {
        for limits in [Limits::DEFAULT, tolerant()] {
            let Ok(msg) = parse(&case.bytes, &limits) else {
                continue;
            };
            let label = format!("{}/{}", case.corpus, case.name);
            let peek = addressing(&case.bytes, &limits, Reach::Section)
                .unwrap_or_else(|e| panic!("{label}: parses but addressing fails: {e}"));
            assert_eq!(peek.request_uri, msg.request_uri(), "{label}");
            assert_eq!(peek.to, msg.to(), "{label}");
            // Up to the first To, the same, except that a repeat goes unseen.
            let first = addressing(&case.bytes, &limits, Reach::FirstTo)
                .unwrap_or_else(|e| panic!("{label}: parses but addressing fails: {e}"));
            assert_eq!(first.request_uri, msg.request_uri(), "{label}");
            match msg.to() {
                Err(e) if e.kind == HeaderErrorKind::Duplicate => {
                    let value = msg.headers(HeaderKind::To).next().unwrap();
                    let to = first
                        .to
                        .unwrap_or_else(|e| panic!("{label}: first To: {e}"));
                    assert!(value.windows(to.uri.len()).any(|w| w == to.uri), "{label}");
                }
                to => assert_eq!(first.to, to, "{label}"),
            }
        }
    }
}
