//! Golden cases: every folder of `tests/cases/` runs through the built `e911-harness run`
//! and must forward exactly `expected.sip` and report exactly `expected.json`.
//!
//! A case folder holds `input.sip`, `case.toml` (`peer`, `now`, optional `transport`,
//! `policy` (default `policies/contoso`), `state` (a callback state file in the folder,
//! copied before the run), `expect_exit`, `known_bug`) and the expected outputs:
//!
//! - `expected.sip`: the forwarded bytes (`run`);
//! - `expected.json`: the `run --json` object without `message_base64` (the bytes are in
//!   `expected.sip`);
//! - `expected-state.json`: the callback state file after the run, present exactly when
//!   the run changed it;
//! - `error.txt` instead of the two above when `expect_exit` is not 0: standard error.
//!
//! `E911_BLESS=1 cargo test -p e911-harness --test cases` rewrites the expected files; the
//! reviewer reads the diff. A `known_bug = "…"` case holds hand-written correct outputs
//! for something the engine gets wrong today: it must keep failing until the fix, and
//! blessing never touches it. Each PIDF-LO the plugin wrote into an `expected.sip` must
//! pass `../shared/conformance/validate-pidf` (a client's own document that a route leaves
//! byte-identical is the client's, and is not held to the schema).

// clippy.toml allows these in #[test] functions; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use base64::Engine as _;

mod common;
use common::case::{Case, RunResult, case_dirs, cases_dir, read_case, run_case};
use common::{TempDir, first_difference, repo_root};

fn blessing() -> bool {
    std::env::var_os("E911_BLESS").is_some_and(|v| v == "1")
}

/// The problems found in one case, and whether expected files are rewritten instead.
struct Findings {
    bless: bool,
    list: Vec<String>,
}

impl Findings {
    fn push(&mut self, problem: String) {
        self.list.push(problem);
    }

    /// Compares `actual` with the expected file, or (blessing) writes it.
    fn file(&mut self, path: &Path, actual: &[u8]) {
        if self.bless {
            std::fs::write(path, actual).unwrap();
            return;
        }
        match std::fs::read(path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => self.push(format!(
                "{}: differs: {}",
                path.display(),
                first_difference(&expected, actual)
            )),
            Err(_) => self.push(format!(
                "{}: missing (E911_BLESS=1 writes it)",
                path.display()
            )),
        }
    }

    /// Checks that no expected file of this name lingers (or, blessing, removes it).
    fn absent(&mut self, path: &Path, why: &str) {
        if !path.exists() {
            return;
        }
        if self.bless {
            std::fs::remove_file(path).unwrap();
        } else {
            self.push(format!("{}: should not exist ({why})", path.display()));
        }
    }
}

/// The `--json` text without its `message_base64` line, and the decoded bytes.
fn split_json(case: &str, stdout: &[u8]) -> (String, Vec<u8>) {
    let text = String::from_utf8(stdout.to_vec()).expect("--json prints UTF-8");
    let value: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|err| panic!("{case}: --json output is not JSON ({err}):\n{text}"));
    let encoded = value["message_base64"]
        .as_str()
        .unwrap_or_else(|| panic!("{case}: --json has no message_base64"));
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("message_base64 is base64");
    let mut lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with("\"message_base64\":"))
        .collect();
    // The line before the closing brace may keep a comma that preceded the removed field.
    let last_field = lines.len() - 2;
    if let Some(trimmed) = lines[last_field].strip_suffix(',') {
        lines[last_field] = trimmed;
    }
    let mut json = lines.join("\n");
    json.push('\n');
    serde_json::from_str::<serde_json::Value>(&json)
        .unwrap_or_else(|err| panic!("{case}: JSON without message_base64 is invalid: {err}"));
    (json, bytes)
}

/// One case: both runs, every comparison; the problems found. A case marked `known_bug`
/// holds the correct expectation of something the engine gets wrong: it must still fail
/// (the day it passes, the marker goes) and blessing leaves it alone.
fn check_case(case: &Case) -> Vec<String> {
    let mut findings = Findings {
        bless: blessing() && case.known_bug.is_none(),
        list: Vec::new(),
    };
    compare_case(case, &mut findings);
    match &case.known_bug {
        None => findings.list,
        Some(_) if !findings.list.is_empty() => Vec::new(),
        Some(bug) => vec![format!(
            "{}: matches its expectation now; remove `known_bug` ({bug})",
            case.name
        )],
    }
}

fn compare_case(case: &Case, f: &mut Findings) {
    let tmp = TempDir::new(&format!("case-{}", case.name));
    let plain = run_case(case, false, &tmp, &[]);
    let json = run_case(case, true, &tmp, &[]);
    let name = &case.name;
    for (label, run) in [("run", &plain), ("run --json", &json)] {
        let code = run.output.status.code().unwrap_or(-1);
        if code != case.expect_exit {
            f.push(format!(
                "{name}: {label} exited {code}, expected {}; stderr:\n{}",
                case.expect_exit,
                String::from_utf8_lossy(&run.output.stderr)
            ));
        }
    }
    if !f.list.is_empty() {
        return;
    }
    if case.expect_exit != 0 {
        f.file(&case.dir.join("error.txt"), &plain.output.stderr);
        return;
    }
    for (label, run) in [("run", &plain), ("run --json", &json)] {
        if !run.output.stderr.is_empty() {
            f.push(format!(
                "{name}: {label} wrote to stderr:\n{}",
                String::from_utf8_lossy(&run.output.stderr)
            ));
        }
    }
    let forwarded = &plain.output.stdout;
    f.file(&case.dir.join("expected.sip"), forwarded);
    let (json_text, json_bytes) = split_json(name, &json.output.stdout);
    f.file(&case.dir.join("expected.json"), json_text.as_bytes());
    if &json_bytes != forwarded {
        f.push(format!(
            "{name}: message_base64 differs from the bytes `run` forwards"
        ));
    }
    check_invariants(case, forwarded, &json_text, f);
    check_state(case, &plain, &json, f);
}

/// Byte-identity where nothing was decided: `kind: none`, or no edits at all.
fn check_invariants(case: &Case, forwarded: &[u8], json: &str, f: &mut Findings) {
    let value: serde_json::Value = serde_json::from_str(json).unwrap();
    let input = std::fs::read(case.dir.join("input.sip")).unwrap();
    let kind = value["kind"].as_str().unwrap_or("?");
    let edits = value["edits"].as_u64().unwrap_or(u64::MAX);
    // A message read leniently is rewritten from the reader's rebuilt copy, with no edit
    // list against the received one.
    let lenient = value["read_leniently"].as_bool() == Some(true);
    if (kind == "none" || (edits == 0 && !lenient)) && forwarded != input.as_slice() {
        f.push(format!(
            "{}: kind {kind}, {edits} edit(s), but the output is not the input: {}",
            case.name,
            first_difference(&input, forwarded)
        ));
    }
    if kind == "none" && edits != 0 {
        f.push(format!("{}: kind none with {edits} edit(s)", case.name));
    }
    if content_length_is_exact(&input) && !content_length_is_exact(forwarded) {
        f.push(format!(
            "{}: Content-Length of the forwarded message is not its body length",
            case.name
        ));
    }
}

/// Whether the message's Content-Length (or `l`) names exactly the bytes after the head.
fn content_length_is_exact(message: &[u8]) -> bool {
    let Some(end) = message.windows(4).position(|w| w == b"\r\n\r\n") else {
        return false;
    };
    let body_len = message.len() - end - 4;
    String::from_utf8_lossy(&message[..end])
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| {
            let name = name.trim();
            name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l")
        })
        .and_then(|(_, value)| value.trim().parse::<usize>().ok())
        .is_some_and(|n| n == body_len)
}

/// The state file: unchanged (no expected-state.json) or exactly expected-state.json.
fn check_state(case: &Case, plain: &RunResult, json: &RunResult, f: &mut Findings) {
    if plain.state_after != json.state_after {
        f.push(format!(
            "{}: `run` and `run --json` left different state",
            case.name
        ));
    }
    let path = case.dir.join("expected-state.json");
    match &plain.state_after {
        after if *after == plain.state_before => {
            f.absent(&path, "the run leaves the state unchanged");
        }
        Some(after) => f.file(&path, after),
        None => f.push(format!("{}: the run deleted the state file", case.name)),
    }
}

#[test]
fn every_case_forwards_and_reports_exactly_what_it_expects() {
    let dirs = case_dirs();
    assert!(!dirs.is_empty(), "no cases under {}", cases_dir().display());
    let mut failures = Vec::new();
    for dir in &dirs {
        match read_case(dir) {
            Ok(case) => failures.extend(check_case(&case)),
            Err(err) => failures.push(err),
        }
    }
    assert!(
        failures.is_empty(),
        "{} problem(s) in {} cases:\n{}",
        failures.len(),
        dirs.len(),
        failures.join("\n")
    );
}

#[test]
fn a_case_folder_without_case_toml_is_an_error() {
    let tmp = TempDir::new("no-case-toml");
    let err = read_case(tmp.path()).expect_err("a folder without case.toml is refused");
    assert!(err.contains("case.toml: cannot read"), "{err}");
}

#[test]
fn a_case_toml_with_an_unknown_key_is_an_error() {
    let tmp = TempDir::new("bad-case-toml");
    std::fs::write(
        tmp.path().join("case.toml"),
        "peer = \"10.1.0.25\"\nnow = \"2026-11-21T14:00:00Z\"\npear = \"x\"\n",
    )
    .unwrap();
    let err = read_case(tmp.path()).expect_err("unknown keys are refused");
    assert!(err.contains("case.toml:3: unknown key `pear`"), "{err}");
}

#[test]
fn content_length_check_catches_a_wrong_length() {
    let good = b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 2\r\n\r\nab";
    let bad = b"OPTIONS sip:x SIP/2.0\r\nl: 3\r\n\r\nab";
    assert!(content_length_is_exact(good));
    assert!(!content_length_is_exact(bad));
}

/// The callback cases and the second Wichita call start where the first Wichita call ends.
#[test]
fn wichita_follow_up_cases_start_from_the_state_the_visitor_call_leaves() {
    let cases = cases_dir();
    let left = std::fs::read(cases.join("wichita-visitor-911/expected-state.json")).unwrap();
    for name in [
        "psap-callback-in-window",
        "psap-callback-after-window",
        "wichita-second-call-elin-busy",
        "elin-dialed-from-inside-not-a-callback",
    ] {
        let start = std::fs::read(cases.join(name).join("state.json")).unwrap();
        assert!(
            start == left,
            "{name}/state.json is not wichita-visitor-911/expected-state.json"
        );
    }
}

/// Every corpus message is the input of some case, so the demo's calls are all golden.
#[test]
fn every_sample_call_of_the_corpus_is_a_golden_case() {
    let inputs: Vec<Vec<u8>> = case_dirs()
        .iter()
        .filter_map(|d| std::fs::read(d.join("input.sip")).ok())
        .collect();
    let corpus = repo_root().join("tests/corpus/emergency");
    let mut missing = Vec::new();
    for entry in std::fs::read_dir(&corpus).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "sip")
            && !inputs.contains(&std::fs::read(&path).unwrap())
        {
            missing.push(path.display().to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "no case uses these as input.sip:\n{}",
        missing.join("\n")
    );
}

/// Every PIDF-LO the plugin wrote validates. A client's own document that a route leaves
/// untouched (Lync's `tuple id="0"` on the ELIN gateway) is the client's, not ours: it must
/// be byte-identical to a part of `input.sip`, and is not held to the schema.
#[test]
fn every_pidf_lo_the_plugin_writes_validates_against_the_schemas() {
    let tmp = TempDir::new("pidf");
    let mut files = Vec::new();
    for dir in case_dirs() {
        let Ok(message) = std::fs::read(dir.join("expected.sip")) else {
            continue;
        };
        let client_parts = pidf_parts(&std::fs::read(dir.join("input.sip")).unwrap());
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        for (i, part) in pidf_parts(&message).iter().enumerate() {
            if client_parts.contains(part) {
                continue;
            }
            let file = tmp.path().join(format!("{name}-{i}.xml"));
            std::fs::write(&file, part).unwrap();
            files.push(file);
        }
    }
    assert!(
        files.len() >= 10,
        "only {} PIDF-LO parts written by the plugin in the expected outputs; is the \
         extraction broken?",
        files.len()
    );
    common::validate_pidf(&files);
}

/// The `application/pidf+xml` parts of a multipart body, split here independently of
/// e911-sip so that a parser bug cannot hide a bad document.
fn pidf_parts(message: &[u8]) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(message);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Vec::new();
    };
    let Some(boundary) = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-type"))
        .and_then(|(_, value)| boundary_of(value))
    else {
        return Vec::new();
    };
    let delimiter = format!("--{boundary}");
    body.split(&delimiter)
        .filter_map(|part| part.strip_prefix("\r\n"))
        .filter_map(|part| part.split_once("\r\n\r\n"))
        .filter(|(headers, _)| {
            headers
                .to_ascii_lowercase()
                .contains("content-type: application/pidf+xml")
        })
        .map(|(_, doc)| doc.strip_suffix("\r\n").unwrap_or(doc).as_bytes().to_vec())
        .collect()
}

fn boundary_of(content_type: &str) -> Option<String> {
    if !content_type
        .trim()
        .to_ascii_lowercase()
        .starts_with("multipart/")
    {
        return None;
    }
    content_type.split(';').find_map(|param| {
        let (name, value) = param.split_once('=')?;
        name.trim()
            .eq_ignore_ascii_case("boundary")
            .then(|| value.trim().trim_matches('"').to_owned())
    })
}
