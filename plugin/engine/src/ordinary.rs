//! The ordinary-INVITE screen: most INVITEs are ordinary calls, and their Request-URI and
//! To settle that without parsing the rest of the message (DESIGN §3 step 2).
//!
//! An INVITE can start an emergency or test call only through a service URN or a dialled
//! number some location policy knows, and can be a PSAP callback only when it dials one
//! of our ELINs. When the addressing ([`e911_sip::addressing`], the parser's own scanner
//! and limits) names none of these, the INVITE is forwarded untouched, as the full path
//! would forward it. Anything else, and anything the scan cannot read, takes the full
//! path: the strict parse, the lenient reader, the policy. The screen never changes a
//! message, so a strict parse still guards every message the engine rewrites.
//!
//! Most emergency calls dial a known number or a service URN in the Request-URI, and
//! nothing after it can make the screen answer otherwise than "unsure": those are
//! answered from the start line, before any header is read.
//!
//! The scan ends at the first To when the Request-URI names the dialled number: a later
//! To could only make the full path ignore To, which then reads the same Request-URI.
//! What follows the first To is not read, so an ordinary INVITE with a bad line there
//! passes as ordinary, where the full path would have read it leniently (and, if even
//! that failed, audited it as degraded); either way it is forwarded unchanged. Every
//! other answer walks the whole header section first.

use std::borrow::Cow;

use e911_policy::Policy;
use e911_sip::{Reach, StartLinePeek};

use crate::facts::{Addressed, dialed};

/// What the screen settled about an INVITE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Screen {
    /// Not an emergency call, a test call or a PSAP callback, whoever sends it.
    Ordinary {
        /// The dialled user part, for the report.
        dialed: Option<String>,
    },
    /// To carries a tag: a request inside a dialog, not a new call.
    InDialog,
    /// The full path decides.
    Unsure,
}

/// Screens one INVITE whose start line `line` has read, under the strict first parse's
/// limits (an INVITE whose start line does not read is for the full path).
pub(crate) fn screen(policy: &Policy, line: &StartLinePeek<'_, '_>) -> Screen {
    // A service URN or a number we handle in the Request-URI: the full path decides,
    // whatever To says (a tag there makes the full path answer "in dialog" itself).
    let ruri = line.request_uri.as_ref().ok();
    if ruri.is_some_and(|uri| uri.service_urn().is_some()) {
        return Screen::Unsure;
    }
    let ruri_dialed = ruri.and_then(dialed);
    if ruri_dialed.as_deref().is_some_and(|d| ours(policy, d)) {
        return Screen::Unsure;
    }
    let read = |reach| read(line, ruri_dialed.clone(), reach);
    let Some(first) = read(Reach::FirstTo) else {
        return Screen::Unsure;
    };
    let rests_on_request_uri = first.dialed_in_request_uri;
    match settle(policy, first) {
        ordinary @ Screen::Ordinary { .. } if rests_on_request_uri => ordinary,
        // What the first To left unsure no later To makes sure: a repeat only makes To
        // unreadable.
        Screen::Unsure => Screen::Unsure,
        // A tag, or a number dialled in To: a repeated To would change the answer.
        _ => read(Reach::Section).map_or(Screen::Unsure, |all| settle(policy, all)),
    }
}

/// Whether a dialled number is one the policy may classify, or one of our ELINs.
fn ours(policy: &Policy, dialed: &str) -> bool {
    policy.may_classify(dialed) || policy.elin(dialed).is_some()
}

/// The addressing up to `reach`; `None` when the scan fails or To does not read. Without
/// a readable To the full path still classifies on the Request-URI, and its report says
/// how it read the message: that is left to it. `ruri_dialed` is the number `line`'s
/// Request-URI dials.
fn read<'m>(
    line: &StartLinePeek<'m, '_>,
    ruri_dialed: Option<Cow<'m, str>>,
    reach: Reach,
) -> Option<Addressed<'m>> {
    let to = line.to(reach).ok()?.ok()?;
    Some(Addressed::read_dialed(
        line.request_uri.as_ref().ok(),
        ruri_dialed,
        Some(to),
    ))
}

fn settle(policy: &Policy, addressed: Addressed<'_>) -> Screen {
    if addressed.in_dialog {
        return Screen::InDialog;
    }
    if addressed.service_urn.is_some() {
        return Screen::Unsure;
    }
    match addressed.dialed {
        // A number from the Request-URI was looked up before To was read.
        Some(d) if !addressed.dialed_in_request_uri && ours(policy, &d) => Screen::Unsure,
        dialed => Screen::Ordinary {
            dialed: dialed.map(Cow::into_owned),
        },
    }
}

#[cfg(test)]
mod tests {
    // Test code: a broken fixture should fail loudly.
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use std::path::{Path, PathBuf};

    use e911_policy::Sources;

    use super::*;
    use crate::engine::STRICT;
    use crate::facts::SipFacts;
    use e911_sip::Limits;

    /// The screen's answer for a whole message, as `Engine::on_message` reaches it.
    fn screen_bytes(policy: &Policy, bytes: &[u8], limits: &Limits) -> Screen {
        StartLinePeek::read(bytes, limits).map_or(Screen::Unsure, |line| screen(policy, &line))
    }
    use crate::{CallCtx, Engine, Kind, MemoryStore, Output, Transport};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    fn contoso() -> Engine {
        let mut sources = Sources::new();
        for entry in std::fs::read_dir(root().join("policies/contoso")).unwrap() {
            let path = entry.unwrap().path();
            sources.add(
                path.file_name().unwrap().to_string_lossy(),
                &std::fs::read(&path).unwrap(),
            );
        }
        Engine::new(sources.compile().unwrap())
    }

    /// Every INVITE of the sample calls and the golden cases.
    fn invites() -> Vec<(String, Vec<u8>)> {
        let mut all = Vec::new();
        let samples = root().join("tests/corpus/emergency");
        for entry in std::fs::read_dir(&samples).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "sip") {
                all.push((path.display().to_string(), std::fs::read(&path).unwrap()));
            }
        }
        for entry in std::fs::read_dir(root().join("tests/cases")).unwrap() {
            let path = entry.unwrap().path().join("input.sip");
            if let Ok(bytes) = std::fs::read(&path) {
                all.push((path.display().to_string(), bytes));
            }
        }
        all.retain(|(_, bytes)| bytes.starts_with(b"INVITE "));
        assert!(all.len() > 20, "too few INVITEs found: {}", all.len());
        all
    }

    /// Copies of `bytes` with one byte of the Request-Line or the To field changed to one
    /// that changes meaning there: digits, separators, line ends, a tag.
    fn mutations(bytes: &[u8]) -> Vec<Vec<u8>> {
        let text = String::from_utf8_lossy(bytes);
        let to = ["\r\nTo:", "\r\nt:", "\r\nTO:"]
            .iter()
            .find_map(|n| text.find(n))
            .unwrap_or(0);
        let line_end = |from: usize| text[from..].find("\r\n").map_or(from, |i| from + i + 2);
        let request_line = 0..line_end(0);
        let to_field = to..line_end(to + 2);
        let mut out = Vec::new();
        for at in request_line.chain(to_field) {
            for b in [
                b'9', b'1', b'+', b':', b';', b' ', b'\n', b'<', b'>', b'@', b't',
            ] {
                let mut copy = bytes.to_vec();
                copy[at] = b;
                out.push(copy);
            }
        }
        out.push(text.replacen(">\r\n", ">;tag=x\r\n", 1).into_bytes());
        out
    }

    fn ctx() -> CallCtx<'static> {
        CallCtx {
            now: 1_795_000_000,
            peer: "10.1.0.25".parse().ok(),
            transport: Transport::Udp,
            node: "edge-1.example",
        }
    }

    fn sample(name: &str) -> String {
        std::fs::read_to_string(root().join("tests/corpus/emergency").join(name)).unwrap()
    }

    /// A line the strict parser refuses, after To: the screen does not read it, so an
    /// ordinary INVITE passes as ordinary (the full path would have read it leniently),
    /// and a 911 still takes the full path and is handled as an emergency call.
    #[test]
    fn a_bad_line_after_to_is_not_read_and_a_911_still_goes_the_full_path() {
        let engine = contoso();
        let bad_after_to = |text: String| {
            text.replacen("\r\nCall-ID:", "\r\nthis line has no colon\r\nCall-ID:", 1)
                .into_bytes()
        };
        let ordinary = bad_after_to(sample("non-emergency-invite.sip"));
        assert!(e911_sip::parse(&ordinary, &STRICT).is_err());
        assert!(matches!(
            screen_bytes(engine.policy(), &ordinary, &STRICT),
            Screen::Ordinary { .. }
        ));
        let verdict = engine.on_message(&ordinary, &ctx(), &mut MemoryStore::default());
        assert!(matches!(verdict.output, Output::Unchanged));
        assert!(!verdict.report.read_leniently && !verdict.is_audited());
        let full = engine.on_full_invite(&ordinary, &ctx(), &mut MemoryStore::default());
        assert!(matches!(full.output, Output::Unchanged));
        assert!(full.report.read_leniently);

        let emergency = bad_after_to(sample("hq-wired-911.sip"));
        assert_eq!(
            screen_bytes(engine.policy(), &emergency, &STRICT),
            Screen::Unsure
        );
        let verdict = engine.on_message(&emergency, &ctx(), &mut MemoryStore::default());
        assert_eq!(verdict.report.kind, Kind::Emergency);
        assert!(matches!(verdict.output, Output::Rewritten(_)));
    }

    /// A 911 in the Request-URI is answered "unsure" from the start line: no field is
    /// read, so a tag on To does not make the screen say "in dialog"; the full path says
    /// it, with the same verdict. A bad line before To still ends as an emergency call.
    #[test]
    fn a_number_we_handle_in_the_request_uri_is_answered_from_the_start_line() {
        let engine = contoso();
        let text = sample("hq-wired-911.sip");
        let tagged = text.replacen(
            "To: <sip:911@contoso.com;user=phone>\r\n",
            "To: <sip:911@contoso.com;user=phone>;tag=1\r\n",
            1,
        );
        assert_ne!(tagged, text);
        assert_eq!(
            screen_bytes(engine.policy(), tagged.as_bytes(), &STRICT),
            Screen::Unsure
        );
        let verdict = engine.on_message(tagged.as_bytes(), &ctx(), &mut MemoryStore::default());
        assert_eq!(verdict, engine.in_dialog(&ctx()));
        let bad_first = text.replacen("\r\n", "\r\nno colon here\r\n", 1);
        assert!(e911_sip::addressing(bad_first.as_bytes(), &STRICT, Reach::FirstTo).is_err());
        assert_eq!(
            screen_bytes(engine.policy(), bad_first.as_bytes(), &STRICT),
            Screen::Unsure
        );
        let verdict = engine.on_message(bad_first.as_bytes(), &ctx(), &mut MemoryStore::default());
        assert_eq!(verdict.report.kind, Kind::Emergency);
        assert!(verdict.report.read_leniently);
    }

    /// A tag on the first To would make the INVITE in-dialog, but a second To makes the
    /// full path ignore To: the screen walks the whole section before it says in-dialog,
    /// and a repeat leaves it to the full path.
    #[test]
    fn an_in_dialog_answer_looks_for_a_repeated_to() {
        let engine = contoso();
        let text = sample("non-emergency-invite.sip");
        let to = "To: <sip:+14255550199@contoso.com;user=phone>";
        let tagged = text.replacen(&format!("{to}\r\n"), &format!("{to};tag=1\r\n"), 1);
        assert_ne!(tagged, text);
        assert_eq!(
            screen_bytes(engine.policy(), tagged.as_bytes(), &STRICT),
            Screen::InDialog
        );
        let repeated = tagged.replacen("\r\nCall-ID:", &format!("\r\n{to}\r\nCall-ID:"), 1);
        assert_eq!(
            screen_bytes(engine.policy(), repeated.as_bytes(), &STRICT),
            Screen::Unsure
        );
        let verdict = engine.on_message(repeated.as_bytes(), &ctx(), &mut MemoryStore::default());
        assert_ne!(verdict, engine.in_dialog(&ctx()));
    }

    /// The full path reads its facts with the Request-URI the screen decoded: for every
    /// INVITE the strict parser takes, they are the facts it would read itself.
    #[test]
    fn the_screens_request_uri_gives_the_full_paths_facts() {
        let headers = contoso().policy().settings().headers.clone();
        let mut compared = 0;
        for (name, original) in invites() {
            for bytes in core::iter::once(original.clone()).chain(mutations(&original)) {
                let (Ok(line), Ok(msg)) = (
                    StartLinePeek::read(&bytes, &STRICT),
                    e911_sip::parse(&bytes, &STRICT),
                ) else {
                    continue;
                };
                assert_eq!(
                    SipFacts::read_with(&msg, &headers, line.request_uri.ok()),
                    SipFacts::read(&msg, &headers),
                    "{name}"
                );
                compared += 1;
            }
        }
        assert!(compared > 100, "compared {compared}");
    }

    /// Where the screen settles an INVITE, the full path (strict parse, lenient reader,
    /// trust, policy) decides the same: forwarded unchanged, not a call we handle, the
    /// same number dialled, nothing to notify or count. Checked for an enterprise and a
    /// carrier-side peer, on every sample call and golden case and on copies with their
    /// Request-Line or To changed.
    #[test]
    fn agrees_with_the_full_path_wherever_it_settles() {
        let engine = contoso();
        let (mut settled, mut unsure) = (0, 0);
        for (name, original) in invites() {
            for bytes in core::iter::once(original.clone()).chain(mutations(&original)) {
                if !bytes.starts_with(b"INVITE ") {
                    continue;
                }
                let screened = screen_bytes(engine.policy(), &bytes, &STRICT);
                if screened == Screen::Unsure {
                    unsure += 1;
                    continue;
                }
                settled += 1;
                for peer in ["10.1.0.25", "203.0.113.10"] {
                    let ctx = CallCtx {
                        now: 1_795_000_000,
                        peer: peer.parse().ok(),
                        transport: Transport::Udp,
                        node: "edge-1.example",
                    };
                    let fast = engine.on_message(&bytes, &ctx, &mut MemoryStore::default());
                    let full = engine.on_full_invite(&bytes, &ctx, &mut MemoryStore::default());
                    let label = format!(
                        "{name} from {peer}: {:?}\n{}",
                        full.report,
                        String::from_utf8_lossy(&bytes)
                    );
                    assert!(matches!(full.output, Output::Unchanged), "{label}");
                    assert_eq!(full.report.kind, Kind::None, "{label}");
                    assert_eq!(full.edits, fast.edits, "{label}");
                    assert_eq!(full.metrics, fast.metrics, "{label}");
                    assert_eq!(full.notifications, fast.notifications, "{label}");
                    assert_eq!(full.report.dialed, fast.report.dialed, "{label}");
                    assert_eq!(full.report.degraded, None, "{label}");
                    // The screen reads no more than the addressing, so it cannot say
                    // whether the full path had to read the rest leniently.
                    if !full.report.read_leniently {
                        assert_eq!(full.report, fast.report, "{label}");
                    }
                    if let Screen::Ordinary { dialed } = &screened {
                        assert_eq!(&fast.report.dialed, dialed, "{label}");
                    }
                }
            }
        }
        // The corpora hold ordinary calls and emergency calls: both outcomes must occur.
        assert!(
            settled > 100 && unsure > 100,
            "settled {settled}, unsure {unsure}"
        );
    }
}
