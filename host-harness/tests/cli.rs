//! The `e911-harness` command line on bad input: every mistake is a clear line naming the
//! file, nothing is lost, and the good paths (signed bundles, explain, the demo) work.

// clippy.toml allows these in #[test] functions; the helpers here are test code too.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;
use common::{TempDir, harness, repo_root};

const CONTOSO: &str = "policies/contoso";
const CORPUS: &str = "tests/corpus/emergency";
const NOW: &str = "2026-11-21T14:00:00Z";

/// Runs the harness from the repository root.
fn harness_in_root(args: &[&str]) -> Output {
    Command::new(harness())
        .current_dir(repo_root())
        .env("RUST_BACKTRACE", "1")
        .args(args)
        .output()
        .expect("e911-harness runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The run failed with exactly one line on stderr, containing each of `needles`, and no
/// panic or backtrace.
fn assert_one_line_error(out: &Output, needles: &[&str]) {
    let err = stderr(out);
    assert!(
        !out.status.success(),
        "expected a failure; stdout:\n{}",
        stdout(out)
    );
    assert_eq!(err.lines().count(), 1, "expected one line, got:\n{err}");
    for needle in needles {
        assert!(err.contains(needle), "stderr lacks `{needle}`:\n{err}");
    }
    for forbidden in ["panicked", "backtrace", "RUST_BACKTRACE"] {
        assert!(!err.contains(forbidden), "stderr shows a panic:\n{err}");
    }
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temp paths are UTF-8")
}

/// Copies the contoso source folder into `dir`.
fn copy_contoso(dir: &Path) -> PathBuf {
    let dest = dir.join("contoso");
    std::fs::create_dir_all(&dest).unwrap();
    for entry in std::fs::read_dir(repo_root().join(CONTOSO)).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            std::fs::copy(&path, dest.join(path.file_name().unwrap())).unwrap();
        }
    }
    dest
}

/// Replaces `from` by `to` in a file (which must contain `from`); returns the 1-based line
/// where it was.
fn edit(dir: &Path, file: &str, from: &str, to: &str) -> usize {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text
        .find(from)
        .unwrap_or_else(|| panic!("{file} no longer contains {from:?}; update this test"));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    text[..at].matches('\n').count() + 1
}

/// Appends `lines` to a file; returns the 1-based line number of the first one.
fn append(dir: &Path, file: &str, lines: &str) -> usize {
    let path = dir.join(file);
    let mut text = std::fs::read_to_string(&path).unwrap();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    let first = text.matches('\n').count() + 1;
    text.push_str(lines);
    std::fs::write(&path, text).unwrap();
    first
}

fn line_of(dir: &Path, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(dir.join(file)).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{file} has no line with {needle:?}"))
        + 1
}

#[test]
fn bundle_check_reports_every_problem_of_a_broken_folder_with_file_and_line() {
    let tmp = TempDir::new("broken-bundle");
    let dir = copy_contoso(tmp.path());
    let d = path_str(&dir);
    let unknown_erl = edit(
        &dir,
        "wireless.csv",
        "00-11-22-33-44-55,redmond-b40-f2",
        "00-11-22-33-44-55,redmond-b40-f9",
    );
    let bad_bssid = append(
        &dir,
        "wireless.csv",
        "00-11-22-33-44,redmond-b40-f1,short\n",
    );
    let first_subnet = line_of(&dir, "subnets.csv", "\"10.1.2.0\"");
    let duplicate = append(
        &dir,
        "subnets.csv",
        "\"10.1.2.0\",\"again\",\"Building 40, Floor 2\",\"Contoso\",\"1\",\"\",\"\",\
         \"Microsoft\",\"Way\",\"\",\"Redmond\",\"WA\",\"98052\",\"US\"\r\n",
    );
    let unknown_trunk = edit(
        &dir,
        "routes.toml",
        "[\"esp-primary\", \"esp-secondary\"]",
        "[\"esp-primary\", \"esp-tertiary\"]",
    );
    let no_route = append(
        &dir,
        "policies.toml",
        "\n[policies.lab]\ndescription = \"Lab: forgot its route\"\n",
    ) + 1;
    let bad_elin = edit(&dir, "erls.csv", ";+13165550101,", ";3165550101,");
    let bad_prefix = edit(&dir, "sites.toml", "10.2.0.0/16", "10.2.0.0/40");
    let toml_error = edit(
        &dir,
        "callers.toml",
        "[callers.\"+14255550142\"]",
        "[callers.\"+14255550142\"",
    );

    let out = Command::new(harness())
        .args(["bundle", "check", d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    let expected = [
        format!("{d}/callers.toml:{toml_error}: unclosed table, expected `]`"),
        format!(
            "{d}/erls.csv:{bad_elin}: bad ELIN `3165550101`: expected E.164 (`+` and up to 15 digits)"
        ),
        format!(
            "{d}/policies.toml:{no_route}: policy `lab` has no route for 911 (`route`, \
             Lync's PstnUsage, or the number's own `route`)"
        ),
        format!(
            "{d}/routes.toml:{unknown_trunk}: route `redmond-esp` names unknown trunk `esp-tertiary`"
        ),
        format!("{d}/sites.toml:{bad_prefix}: prefix length /40 is longer than the address (/32)"),
        format!(
            "{d}/subnets.csv:{duplicate}: duplicate subnet 10.1.2.0/24 (first at line {first_subnet})"
        ),
        format!("{d}/wireless.csv:{unknown_erl}: unknown ERL `redmond-b40-f9`"),
        format!(
            "{d}/wireless.csv:{bad_bssid}: bad BSSID `00-11-22-33-44`: expected 12 hex digits \
             with -, : or no separators, optionally ending in *"
        ),
        "8 problem(s)".to_owned(),
    ];
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    for line in &expected {
        assert!(
            lines.contains(&line.as_str()),
            "missing {line:?} in:\n{err}"
        );
    }
    assert_eq!(
        lines.len(),
        expected.len(),
        "only these lines expected:\n{err}"
    );
}

#[test]
fn bundle_check_explains_the_trunk_target_migration_and_warns_without_carriers() {
    let tmp = TempDir::new("migrate-bundle");
    let dir = copy_contoso(tmp.path());
    let d = path_str(&dir);
    let old_target = edit(
        &dir,
        "routes.toml",
        "target = \"sip:esp.example.net;transport=tcp\"",
        "target = \"sip:911@esp.example.net;transport=tcp\"",
    );
    let trust = line_of(&dir, "bundle.toml", "[trust]");
    edit(&dir, "bundle.toml", "carriers = [\"203.0.113.0/24\"]", "");
    let out = Command::new(harness())
        .args(["bundle", "check", d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "stderr:\n{}", stderr(&out));
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    let warning = format!(
        "{d}/bundle.toml:{trust}: warning: [trust] names no `carriers`: any peer outside the \
         trusted networks that calls one of our ELINs is taken for a PSAP calling back; list \
         the networks of the carriers' SBCs (`carriers = [\"…\"]`)"
    );
    let migration = format!(
        "{d}/routes.toml:{old_target}: trunk `esp-primary` target \
         `sip:911@esp.example.net;transport=tcp` names a number (911), but a trunk now names \
         only where calls go: write `target = \"sip:esp.example.net;transport=tcp\"`. The \
         provider receives what the caller dialled (911, also for a dial mask such as 112; 933 \
         for a test call) or the route's `dial` (the ECRC's number)"
    );
    assert_eq!(
        lines,
        [warning.as_str(), migration.as_str(), "1 problem(s)"],
        "{err}"
    );
    // Fixed, the warning alone does not fail the check.
    edit(
        &dir,
        "routes.toml",
        "target = \"sip:911@esp.example.net;transport=tcp\"",
        "target = \"sip:esp.example.net;transport=tcp\"",
    );
    let out = Command::new(harness())
        .args(["bundle", "check", d])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr:\n{}", stderr(&out));
    assert_eq!(stderr(&out).lines().collect::<Vec<_>>(), [warning.as_str()]);
}

#[test]
fn bundle_check_accepts_the_contoso_folder() {
    let out = harness_in_root(&["bundle", "check", CONTOSO]);
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{CONTOSO}: ok\n"));
    assert_eq!(stderr(&out), "");
}

/// A folder with two signing keys, a signed and an unsigned bundle of contoso.
struct Bundles {
    tmp: TempDir,
}

impl Bundles {
    fn new(label: &str) -> Self {
        let bundles = Self {
            tmp: TempDir::new(label),
        };
        for key in ["k1", "k2"] {
            let out = bundles.harness(&["bundle", "keygen", key]);
            assert!(out.status.success(), "keygen: {}", stderr(&out));
        }
        let contoso = repo_root().join(CONTOSO);
        let contoso = path_str(&contoso);
        let signed = ["bundle", "build", contoso, "-o", "signed.bundle"];
        let out = bundles.harness(&[&signed[..], &["--sign-key", "k1"]].concat());
        assert!(out.status.success(), "build: {}", stderr(&out));
        let out = bundles.harness(&["bundle", "build", contoso, "-o", "unsigned.bundle"]);
        assert!(out.status.success(), "build: {}", stderr(&out));
        bundles
    }

    fn path(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    /// Runs the harness inside the folder, so file names in messages are short.
    fn harness(&self, args: &[&str]) -> Output {
        Command::new(harness())
            .current_dir(self.tmp.path())
            .env("RUST_BACKTRACE", "1")
            .args(args)
            .output()
            .unwrap()
    }

    /// `run` of the HQ wired call with `policy` and the trusted key `key`.
    fn run_with(&self, policy: &str, key: &str) -> Output {
        let call = repo_root().join(CORPUS).join("hq-wired-911.sip");
        self.harness(&[
            "run",
            "--policy",
            policy,
            "--trust-key",
            key,
            "--peer",
            "10.1.0.25",
            "--now",
            NOW,
            path_str(&call),
        ])
    }

    /// A copy of the signed bundle with the byte at `offset` (from the end when negative)
    /// flipped.
    fn flipped(&self, name: &str, offset: isize) -> String {
        let mut bytes = std::fs::read(self.path("signed.bundle")).unwrap();
        let at = if offset < 0 {
            bytes.len() - offset.unsigned_abs()
        } else {
            offset.unsigned_abs()
        };
        bytes[at] ^= 0x01;
        std::fs::write(self.path(name), bytes).unwrap();
        name.to_owned()
    }
}

/// Where the Ed25519 signature starts: after magic, version, flags, the revision (length
/// at offset 12), payload length, digest and the signer's key (see e911-policy bundle.rs).
fn signature_offset(bundle: &[u8]) -> usize {
    let revision_len = usize::from(u16::from_le_bytes([bundle[12], bundle[13]]));
    14 + revision_len + 8 + 32 + 32
}

#[test]
fn a_signed_bundle_builds_inspects_and_runs_with_its_trusted_key() {
    let b = Bundles::new("bundle-ok");
    let inspect = b.harness(&[
        "bundle",
        "inspect",
        "signed.bundle",
        "--trust-key",
        "k1.pub",
    ]);
    assert!(inspect.status.success(), "{}", stderr(&inspect));
    let text = stdout(&inspect);
    for needle in ["revision 2026.11.1", "sha256 ", "ERLs 4", "policies 3"] {
        assert!(text.contains(needle), "inspect lacks {needle:?}:\n{text}");
    }
    assert!(!text.contains("unsigned"), "{text}");
    let run = b.run_with("signed.bundle", "k1.pub");
    assert!(run.status.success(), "{}", stderr(&run));
    let from_folder = harness_in_root(&[
        "run",
        "--policy",
        CONTOSO,
        "--peer",
        "10.1.0.25",
        "--now",
        NOW,
        &format!("{CORPUS}/hq-wired-911.sip"),
    ]);
    assert_eq!(
        run.stdout, from_folder.stdout,
        "the bundle decides like its sources"
    );
}

#[test]
fn a_bundle_with_one_flipped_payload_byte_is_refused_for_its_digest() {
    let b = Bundles::new("bundle-digest");
    let name = b.flipped("payload.bundle", -1);
    let out = b.run_with(&name, "k1.pub");
    assert_one_line_error(&out, &["payload.bundle: ", "does not match its digest"]);
    let check = b.harness(&["bundle", "check", &name]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stderr(&check).contains("payload.bundle: bundle content does not match its digest"));
}

#[test]
fn a_bundle_signed_by_another_key_is_refused_as_untrusted() {
    let b = Bundles::new("bundle-untrusted");
    let out = b.run_with("signed.bundle", "k2.pub");
    assert_one_line_error(&out, &["signed.bundle: ", "which is not trusted"]);
    let inspect = b.harness(&[
        "bundle",
        "inspect",
        "signed.bundle",
        "--trust-key",
        "k2.pub",
    ]);
    assert_one_line_error(&inspect, &["signed.bundle: ", "which is not trusted"]);
}

#[test]
fn a_bundle_with_flipped_signature_bytes_is_refused() {
    let b = Bundles::new("bundle-signature");
    let offset = signature_offset(&std::fs::read(b.path("signed.bundle")).unwrap());
    let name = b.flipped("signature.bundle", offset.try_into().unwrap());
    let out = b.run_with(&name, "k1.pub");
    assert_one_line_error(&out, &["signature.bundle: ", "signature does not verify"]);
    // Without trusted keys the signature is still checked against the key it names.
    let check = b.harness(&["bundle", "check", &name]);
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(stderr(&check).contains("signature.bundle: bundle signature does not verify"));
}

#[test]
fn an_unsigned_bundle_is_refused_when_a_key_is_trusted() {
    let b = Bundles::new("bundle-unsigned");
    let out = b.run_with("unsigned.bundle", "k1.pub");
    assert_one_line_error(&out, &["unsigned.bundle: ", "unsigned"]);
}

#[test]
fn keygen_refuses_to_overwrite_an_existing_key() {
    let b = Bundles::new("keygen");
    let before = std::fs::read(b.path("k1")).unwrap();
    let before_pub = std::fs::read(b.path("k1.pub")).unwrap();
    let out = b.harness(&["bundle", "keygen", "k1"]);
    assert_one_line_error(&out, &["k1: ", "refusing to overwrite"]);
    assert_eq!(std::fs::read(b.path("k1")).unwrap(), before);
    assert_eq!(std::fs::read(b.path("k1.pub")).unwrap(), before_pub);
}

/// `run` of the Wichita visitor with `--state`, from the repository root.
fn run_wichita(state: &Path, now: &str) -> Output {
    harness_in_root(&[
        "run",
        "--policy",
        CONTOSO,
        "--peer",
        "10.2.14.30",
        "--now",
        now,
        "--state",
        path_str(state),
        &format!("{CORPUS}/wichita-visitor-911.sip"),
    ])
}

#[test]
fn a_truncated_state_file_is_kept_aside_and_the_emergency_call_still_forwards() {
    let tmp = TempDir::new("state-truncated");
    let state = tmp.path().join("callbacks.json");
    assert!(run_wichita(&state, NOW).status.success());
    let whole = std::fs::read(&state).unwrap();
    let truncated = &whole[..whole.len() / 2];
    std::fs::write(&state, truncated).unwrap();

    let out = run_wichita(&state, "2026-11-21T14:01:00Z");
    assert!(out.status.success(), "stderr:\n{}", stderr(&out));
    let forwarded = stdout(&out);
    assert!(
        forwarded.starts_with("INVITE sip:911@wichita-gw.contoso.com;transport=tcp SIP/2.0\r\n"),
        "the call still leaves on the ELIN gateway:\n{forwarded}"
    );
    assert!(forwarded.contains("P-Asserted-Identity: <sip:+13165550100@contoso.com;user=phone>"));
    let err = stderr(&out);
    let aside = tmp.path().join("callbacks.json.unreadable");
    assert!(err.contains(path_str(&state)), "names the file:\n{err}");
    assert!(err.contains("callback state unreadable"), "{err}");
    assert!(err.contains(path_str(&aside)), "says where it went:\n{err}");
    assert_eq!(std::fs::read(&aside).unwrap(), truncated, "kept as it was");
    let fresh = String::from_utf8(std::fs::read(&state).unwrap()).unwrap();
    assert!(
        fresh.contains("\"+13165550100\""),
        "new state saved:\n{fresh}"
    );
}

/// `state::load` moves each unreadable state file to a free name: a second bad file must
/// not replace the copy kept aside the first time.
#[test]
fn a_second_unreadable_state_file_does_not_destroy_the_first_one_kept_aside() {
    let tmp = TempDir::new("state-twice");
    let state = tmp.path().join("callbacks.json");
    std::fs::write(&state, b"{\"first").unwrap();
    assert!(run_wichita(&state, NOW).status.success());
    std::fs::write(&state, b"{\"second").unwrap();
    assert!(run_wichita(&state, "2026-11-21T14:01:00Z").status.success());
    let kept: Vec<Vec<u8>> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        kept.contains(&b"{\"first".to_vec()),
        "the first copy is gone"
    );
    assert!(
        kept.contains(&b"{\"second".to_vec()),
        "the second copy is gone"
    );
}

#[test]
fn run_on_a_missing_message_file_names_it_in_one_line() {
    let out = harness_in_root(&[
        "run",
        "--policy",
        CONTOSO,
        "--peer",
        "10.1.0.25",
        "tests/corpus/emergency/no-such-call.sip",
    ]);
    assert_one_line_error(&out, &["no-such-call.sip: cannot read"]);
}

#[test]
fn run_with_a_bad_peer_names_it_in_one_line() {
    let call = format!("{CORPUS}/hq-wired-911.sip");
    for peer in ["10.1.0", "bogus", "10.1.0.25:port"] {
        let out = harness_in_root(&["run", "--policy", CONTOSO, "--peer", peer, &call]);
        assert_one_line_error(
            &out,
            &[&format!("--peer {peer}: not an IP address or IP:PORT")],
        );
    }
}

#[test]
fn run_with_a_bad_now_names_it_in_one_line() {
    let call = format!("{CORPUS}/hq-wired-911.sip");
    for now in ["yesterday", "2026-13-01T00:00:00Z", "2026-11-21 14:00"] {
        let out = harness_in_root(&[
            "run",
            "--policy",
            CONTOSO,
            "--peer",
            "10.1.0.25",
            "--now",
            now,
            &call,
        ]);
        assert_one_line_error(&out, &[&format!("--now {now}: not an RFC 3339 time")]);
    }
}

#[test]
fn explain_shows_the_wichita_visitor_gets_wichitas_policy_erl_route_and_elin() {
    let out = harness_in_root(&[
        "explain",
        "--policy",
        CONTOSO,
        "--peer",
        "10.2.14.30",
        "--now",
        NOW,
        &format!("{CORPUS}/wichita-visitor-911.sip"),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "emergency call to 911 from sip:alice@contoso.com",
        "policy: wichita",
        "network site `wichita`",
        "beats the caller's own policy `redmond`",
        "ERL wichita-f1",
        "100 N Main St, Wichita, KS 67202",
        "route: wichita-elin (elin-gateway) via wichita-gw",
        "ELIN +13165550100",
        "notify wichita-security",
    ] {
        assert!(text.contains(needle), "explain lacks {needle:?}:\n{text}");
    }
}

/// The manifest's `file` column (header skipped).
fn manifest_files() -> Vec<String> {
    let text = std::fs::read_to_string(repo_root().join(CORPUS).join("manifest.tsv")).unwrap();
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split('\t').next().unwrap().to_owned())
        .collect()
}

#[test]
fn the_demo_runs_every_sample_call_as_the_manifest_says() {
    let tmp = TempDir::new("demo");
    let out = harness_in_root(&[
        "demo",
        "--policy",
        CONTOSO,
        "--calls",
        &format!("{CORPUS}/manifest.tsv"),
        "--out",
        path_str(tmp.path()),
    ]);
    assert!(
        out.status.success(),
        "the demo disagrees with the manifest:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    let table = stdout(&out);
    for file in manifest_files() {
        assert!(tmp.path().join(&file).is_file(), "{file} was not written");
        let row = file.trim_end_matches(".sip");
        assert!(table.contains(row), "no table row for {row}:\n{table}");
    }
}

#[test]
fn every_corpus_message_is_in_the_manifest_and_every_row_names_a_file() {
    let listed = manifest_files();
    let corpus = repo_root().join(CORPUS);
    let mut on_disk: Vec<String> = std::fs::read_dir(&corpus)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".sip"))
        .collect();
    on_disk.sort();
    let unclaimed: Vec<&String> = on_disk.iter().filter(|f| !listed.contains(f)).collect();
    assert!(unclaimed.is_empty(), "not in manifest.tsv: {unclaimed:?}");
    let missing: Vec<&String> = listed.iter().filter(|f| !on_disk.contains(f)).collect();
    assert!(
        missing.is_empty(),
        "manifest.tsv names missing files: {missing:?}"
    );
    let mut unique = listed.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        listed.len(),
        "manifest.tsv lists a file twice"
    );
}

const MSAG: &str = "policies/msag/contoso-msag.csv";

/// Replaces every `from` by `to` in a file.
fn replace_all(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} no longer contains {from:?}");
    std::fs::write(&path, text.replace(from, to)).unwrap();
}

#[test]
fn export_ali_writes_the_example_elins_as_nena_records_and_as_csv() {
    let nena = harness_in_root(&[
        "bundle",
        "export-ali",
        CONTOSO,
        "--format",
        "nena",
        "--extract-date",
        "2026-12-06",
        "--company-id",
        "CTSO1",
    ]);
    assert!(nena.status.success(), "{}", stderr(&nena));
    let text = stdout(&nena);
    let lines: Vec<&str> = text.lines().collect();
    // Header, Wichita's two ELINs, trailer; every record 512 characters ending in `*`.
    assert_eq!(lines.len(), 4, "{text}");
    assert!(lines.iter().all(|l| l.len() == 512 && l.ends_with('*')));
    assert!(lines[0].starts_with("UHL  120626CONTOSO"));
    assert!(
        lines[1].starts_with("I3165550100100       "),
        "{}",
        lines[1]
    );
    assert_eq!(&lines[1][27..31], "MAIN");
    assert_eq!(&lines[1][93..100], "WICHITA");
    assert_eq!(&lines[1][127..134], "FLOOR 1");
    assert_eq!(&lines[1][260..265], "CTSO1");
    assert_eq!(&lines[3][61..70], "000000002");
    assert!(stderr(&nena).contains("2 ALI record(s) written"));

    let tmp = TempDir::new("export-ali-csv");
    let out = tmp.path().join("ali.csv");
    let csv = harness_in_root(&[
        "bundle",
        "export-ali",
        CONTOSO,
        "--format",
        "csv",
        "--extract-date",
        "2026-12-06",
        "--out",
        path_str(&out),
    ]);
    assert!(csv.status.success(), "{}", stderr(&csv));
    assert_eq!(stdout(&csv), "", "records go to --out");
    let written = std::fs::read_to_string(&out).unwrap();
    let rows: Vec<&str> = written.lines().collect();
    assert!(rows[0].starts_with("erl,elin,function_of_change,npa,calling_number,house_number,"));
    assert_eq!(
        rows[1],
        "wichita-f1,+13165550100,I,316,5550100,100,,N,MAIN,ST,,WICHITA,KS,FLOOR 1,CONTOSO,4,0,67202,"
    );
    assert_eq!(rows.len(), 3);
}

#[test]
fn export_ali_names_a_bad_address_by_file_and_line_and_writes_nothing_without_partial() {
    let tmp = TempDir::new("export-ali-bad");
    let dir = copy_contoso(tmp.path());
    // Wichita loses its house number; its Lync subnet row (which repeats the address)
    // goes, so the native row is the only one. Redmond floor 1 gets an ELIN of its own.
    let wichita = edit(&dir, "erls.csv", ",100,N,Main,", ",,N,Main,");
    edit(
        &dir,
        "subnets.csv",
        "\"10.2.0.0\",\"Wichita branch\",\"Floor 1\",\"Contoso;+13165550100;+13165550101\",\
         \"100\",\"\",\"N\",\"Main\",\"St\",\"\",\"Wichita\",\"KS\",\"67202\",\"US\"\r\n",
        "",
    );
    edit(
        &dir,
        "erls.csv",
        "Contoso,,yes\nredmond-b40-f2",
        "Contoso,+14255550100,yes\nredmond-b40-f2",
    );
    let d = path_str(&dir);
    let expected = format!("{d}/erls.csv:{wichita}: ERL wichita-f1: no house number (HNO)");

    let refused = harness_in_root(&["bundle", "export-ali", d, "--format", "nena"]);
    assert!(!refused.status.success());
    assert_eq!(stdout(&refused), "", "nothing exported without --partial");
    let err = stderr(&refused);
    assert!(err.lines().any(|l| l.starts_with(&expected)), "{err}");
    assert!(
        err.contains("nothing written (--partial writes the others)"),
        "{err}"
    );

    let partial = harness_in_root(&["bundle", "export-ali", d, "--format", "csv", "--partial"]);
    assert!(
        !partial.status.success(),
        "still fails: an address was left out"
    );
    assert!(stderr(&partial).lines().any(|l| l.starts_with(&expected)));
    let rows: Vec<String> = stdout(&partial).lines().map(str::to_owned).collect();
    assert_eq!(rows.len(), 2, "header and Redmond's one ELIN: {rows:?}");
    assert!(rows[1].starts_with("redmond-b40-f1,+14255550100,I,425,5550100,1,,,MICROSOFT,WAY,"));
    assert!(
        rows[1].contains(",BUILDING 40, FLOOR 1,")
            || rows[1].contains(",\"BUILDING 40, FLOOR 1\",")
    );
}

#[test]
fn check_with_the_shipped_msag_passes_the_example() {
    let out = harness_in_root(&["bundle", "check", CONTOSO, "--msag", MSAG]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("4 ERL(s) match the MSAG"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_with_msag_reports_mistakes_and_writes_only_the_validated_cells() {
    let tmp = TempDir::new("msag-mistakes");
    let dir = copy_contoso(tmp.path());
    // A misspelt street in both the native ERLs and the Lync subnet rows that repeat them,
    // and Wichita without its directional.
    replace_all(&dir, "erls.csv", "Microsoft", "Microsft");
    replace_all(&dir, "subnets.csv", "Microsoft", "Microsft");
    let wichita = edit(&dir, "erls.csv", ",100,N,Main,", ",100,,Main,");
    let d = path_str(&dir);
    let before_erls = std::fs::read_to_string(dir.join("erls.csv")).unwrap();
    let before_subnets = std::fs::read(dir.join("subnets.csv")).unwrap();

    let out = harness_in_root(&["bundle", "check", d, "--msag", MSAG]);
    assert!(!out.status.success());
    let err = stderr(&out);
    for line in [
        format!(
            "{d}/erls.csv:2: ERL redmond-b40-f1: RD 'Microsft' not in MSAG for Redmond WA; nearest: MICROSOFT WAY 1-99 both"
        ),
        format!(
            "{d}/erls.csv:4: ERL redmond-b40-lobby: RD 'Microsft' not in MSAG for Redmond WA; nearest: MICROSOFT WAY 1-99 both"
        ),
        format!(
            "{d}/erls.csv:{wichita}: ERL wichita-f1: PRD '' (MSAG: 'N') does not match the MSAG's N MAIN ST in Wichita KS; nearest: N MAIN ST 100-198 even"
        ),
    ] {
        assert!(err.lines().any(|l| l == line), "missing {line}\n{err}");
    }
    assert!(err.contains("4 ERL(s) do not match the MSAG"), "{err}");
    assert_eq!(
        std::fs::read_to_string(dir.join("erls.csv")).unwrap(),
        before_erls,
        "no writes without --write-validated"
    );

    let wrote = harness_in_root(&["bundle", "check", d, "--msag", MSAG, "--write-validated"]);
    assert!(
        !wrote.status.success(),
        "the mismatches still fail the check"
    );
    assert!(
        stderr(&wrote).contains("4 validation cell(s) written"),
        "{}",
        stderr(&wrote)
    );
    let expected: String = before_erls
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, line)| {
            if i == 0 {
                line.to_owned()
            } else {
                line.replacen(",yes\n", ",no\n", 1)
            }
        })
        .collect();
    assert_eq!(
        std::fs::read_to_string(dir.join("erls.csv")).unwrap(),
        expected
    );
    assert_eq!(
        std::fs::read(dir.join("subnets.csv")).unwrap(),
        before_subnets,
        "Lync rows without MSAGValid are left alone"
    );
    // The policy now routes those ERLs as unvalidated; it still compiles.
    let check = harness_in_root(&["bundle", "check", d]);
    assert!(check.status.success(), "{}", stderr(&check));
    let again = harness_in_root(&["bundle", "check", d, "--msag", MSAG, "--write-validated"]);
    assert!(
        stderr(&again).contains("0 validation cell(s) written"),
        "{}",
        stderr(&again)
    );
}
