//! The policy playground in a real browser: `e911-harness playground` serves the page
//! built by `cargo xtask build-web`, and Debian's Chromium, driven by playwright-core
//! (`tests/playground/playground.mjs`), loads the contoso policy, runs every demo call,
//! takes a screenshot, loads a folder with a broken CSV row, fixes it in the page's
//! editor and drops the policy's files on the page. This test compares what
//! the page shows with `e911-harness run --json --engine native` on the same calls, at
//! the same time, with one callback state carried through in the same order.

// Test helpers outside #[test] functions unwrap too (clippy.toml covers only the tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;
use common::process::Guard;
use common::tools::tools;
use common::{TempDir, harness, repo_root};
use serde_json::{Value, json};

/// The arrival time given to both the page and the CLI.
const NOW: &str = "2026-11-22T10:00:00Z";
const CHROMIUM: &str = "/usr/bin/chromium";

/// Fails (never skips) with one line saying how to get what is missing.
fn require(what: &Path, how: &str) {
    assert!(what.exists(), "{} is missing: {how}", what.display());
}

/// The harness serving the page; killed on drop.
struct Server {
    _guard: Guard,
    url: String,
}

impl Server {
    fn start(page: &Path) -> Self {
        let mut guard = Guard::spawn(
            Command::new(harness())
                .args(["playground", "--listen", "127.0.0.1:0", "--dir"])
                .arg(page)
                .arg("--policy")
                .arg(repo_root().join("policies/contoso"))
                .stdout(Stdio::piped()),
        );
        let mut line = String::new();
        BufReader::new(guard.child().stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .unwrap_or_else(|| panic!("no URL in the playground's first line: {line:?}"))
            .to_owned();
        Self { _guard: guard, url }
    }
}

/// `(file, peer)` of every call in the demo manifest, in its order.
fn demo_calls() -> Vec<(String, String)> {
    let manifest =
        std::fs::read_to_string(repo_root().join("tests/corpus/emergency/manifest.tsv")).unwrap();
    manifest
        .lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut cols = l.split('\t');
            (
                cols.next().unwrap().to_owned(),
                cols.next().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `e911-harness run --json` on each call in order, one state file carrying ELINs over.
fn cli_verdicts(calls: &[(String, String)], tmp: &Path) -> Vec<Value> {
    let state = tmp.join("state.json");
    calls
        .iter()
        .map(|(file, peer)| {
            let out = Command::new(harness())
                .current_dir(repo_root())
                .args(["run", "--json", "--engine", "native"])
                .args(["--policy", "policies/contoso", "--peer", peer, "--now", NOW])
                .arg("--state")
                .arg(&state)
                .arg(format!("tests/corpus/emergency/{file}"))
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{file}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            serde_json::from_slice(&out.stdout).unwrap()
        })
        .collect()
}

/// A copy of contoso whose wireless.csv has a BSSID cut short on line 2.
fn broken_policy(tmp: &Path) -> PathBuf {
    let dir = tmp.join("broken-contoso");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(repo_root().join("policies/contoso")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
    }
    let csv = dir.join("wireless.csv");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(
        text.lines()
            .nth(1)
            .map(|l| l.starts_with("00-11-22-33-44-55,")),
        Some(true)
    );
    std::fs::write(&csv, text.replacen("00-11-22-33-44-55,", "00-11-22,", 1)).unwrap();
    dir
}

/// What the verdict pane should show for a CLI verdict.
fn expected_fields(v: &Value) -> Value {
    let dash = |x: &Value| x.as_str().unwrap_or("—").to_owned();
    json!({
        "kind": v["kind"],
        "erl": dash(&v["location"]["erl"]),
        "route_id": v["route"]["id"].as_str().unwrap_or(""),
        "elin": dash(&v["elin"]),
        "degraded": dash(&v["degraded"]),
    })
}

#[test]
fn the_page_shows_the_cli_verdict_for_every_demo_call_and_names_a_broken_row() {
    let page = repo_root().join("target/wasm/web");
    require(
        &page.join("pkg/e911_web_bg.wasm"),
        "run `cargo xtask test` (or `cargo xtask build-web`)",
    );
    require(
        Path::new(CHROMIUM),
        "install chromium (apt-get install chromium), or run `cargo xtask test`",
    );
    require(
        &tools().join("node/node_modules/playwright-core"),
        "run `cargo xtask test` (it installs playwright-core under target/tools/node)",
    );

    let tmp = TempDir::new("playground");
    let calls = demo_calls();
    let expected = cli_verdicts(&calls, tmp.path());
    let server = Server::start(&page);
    let artifacts = repo_root().join("target/playground");
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("main.png");
    let _ = std::fs::remove_file(&screenshot);
    let config = json!({
        "url": server.url,
        "tools": tools(),
        "chromium": CHROMIUM,
        "userDataDir": tmp.path().join("chromium-profile"),
        "screenshot": screenshot,
        "now": NOW,
        "calls": calls.iter().map(|(file, peer)| json!({"file": file, "peer": peer})).collect::<Vec<_>>(),
        "screenshotCall": {"file": "hq-wifi-bssid-911.sip", "peer": "10.1.2.77"},
        "brokenPolicy": broken_policy(tmp.path()),
    });
    let config_file = tmp.path().join("config.json");
    std::fs::write(&config_file, config.to_string()).unwrap();
    let out = Command::new("node")
        .arg(repo_root().join("tests/playground/playground.mjs"))
        .arg(&config_file)
        .output()
        .expect(
            "node is missing: install nodejs (apt-get install nodejs), or run `cargo xtask test`",
        );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the browser script failed ({}):\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // Shown when an assertion below fails: what the page showed, event by event.
    println!("{stdout}");
    let events: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let event = |name: &'static str| events.iter().filter(move |e| e["event"] == name);

    let loaded = event("loaded").next().expect("the page never loaded");
    assert_eq!(loaded["revision"], "2026.11.1", "{loaded}");

    let shown: Vec<&Value> = event("call").collect();
    assert_eq!(shown.len(), calls.len(), "one verdict per demo call");
    for ((call, cli), page) in calls.iter().zip(&expected).zip(&shown) {
        let file = &call.0;
        assert_eq!(page["file"], file.as_str());
        assert_eq!(page["error"], "", "{file}: the page refused the call");
        let mut fields = page["shown"].clone();
        let fields = fields.as_object_mut().unwrap();
        fields.retain(|k, _| ["kind", "erl", "route_id", "elin", "degraded"].contains(&k.as_str()));
        assert_eq!(
            Value::Object(fields.clone()),
            expected_fields(cli),
            "{file}: verdict"
        );
        let address = cli["location"]["address"].as_str().unwrap_or("—");
        assert!(
            page["shown"]["address"]
                .as_str()
                .unwrap()
                .starts_with(address),
            "{file}: address {} vs {address}",
            page["shown"]["address"]
        );
        match cli["policy"].as_str() {
            Some(policy) => assert!(
                page["shown"]["policy"]
                    .as_str()
                    .unwrap()
                    .starts_with(policy)
            ),
            None => assert_eq!(page["shown"]["policy"], "—"),
        }
        let forwarded = base64::engine::general_purpose::STANDARD
            .decode(cli["message_base64"].as_str().unwrap())
            .unwrap();
        assert_eq!(
            page["forwarded"].as_str().unwrap().as_bytes(),
            forwarded.as_slice(),
            "{file}: forwarded message"
        );
        let changed = page["highlighted"].as_u64().unwrap() > 0;
        assert_eq!(
            changed,
            cli["edits"].as_u64().unwrap() > 0,
            "{file}: highlighted lines"
        );
        let trace: Vec<&str> = cli["trace"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let page_trace: Vec<&str> = page["trace"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert_eq!(
            &page_trace[..trace.len()],
            trace.as_slice(),
            "{file}: trace"
        );
        let has_pidf = forwarded.windows(20).any(|w| w == b"application/pidf+xml");
        assert_eq!(
            page["pidf"].as_str().unwrap().contains("<presence"),
            has_pidf,
            "{file}: PIDF-LO"
        );
    }

    let table = event("every_sample")
        .next()
        .expect("no table of every sample");
    let rows = table["rows"].as_array().unwrap();
    assert_eq!(rows.len(), calls.len(), "{table}");
    for ((call, cli), row) in calls.iter().zip(&expected).zip(rows) {
        let dash = |x: &Value| x.as_str().unwrap_or("—").to_owned();
        let want = json!([
            call.0,
            call.1,
            cli["kind"],
            dash(&cli["location"]["erl"]),
            dash(&cli["policy"]),
            dash(&cli["route"]["id"]),
            dash(&cli["elin"]),
        ]);
        assert_eq!(row, &want, "{}: the table of every sample", call.0);
    }

    let coverage = event("coverage").next().expect("no coverage view");
    let rows = coverage["rows"].as_array().unwrap();
    let lobby = rows
        .iter()
        .find(|r| r["erl"] == "redmond-b40-lobby")
        .expect("lobby ERL listed");
    // Only a caller's static location (an analog DID) reaches the lobby: a call lands
    // there, so it is not flagged unreferenced.
    assert!(
        !lobby["flags"]
            .as_array()
            .unwrap()
            .contains(&json!("Unreferenced")),
        "{lobby}"
    );
    let f2 = rows
        .iter()
        .find(|r| r["erl"] == "redmond-b40-f2")
        .expect("f2 listed");
    assert!(f2["reached_by"].to_string().contains("ports.csv:2"), "{f2}");

    let shot = event("screenshot").next().expect("no screenshot");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "{shot}: not a PNG");

    let broken = event("broken")
        .next()
        .expect("the broken policy was not loaded");
    let problems = broken["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p
            .as_str()
            .unwrap()
            .starts_with("wireless.csv:2: bad BSSID `00-11-22`")),
        "{broken}"
    );
    assert!(
        broken["status"].as_str().unwrap().contains("2026.11.1"),
        "the last good policy stays: {broken}"
    );
    assert_eq!(broken["after"]["shown"]["kind"], "emergency", "{broken}");

    let fixed = event("fixed")
        .next()
        .expect("the row was not fixed in the editor");
    assert_eq!(fixed["problems"], json!([]), "{fixed}");
    assert!(
        fixed["result"]
            .as_str()
            .unwrap()
            .starts_with("Compiled: revision 2026.11.1"),
        "{fixed}"
    );

    let dropped = event("dropped")
        .next()
        .expect("the dropped files were not read");
    assert!(
        dropped["files"].to_string().contains("wireless.csv")
            && dropped["result"]
                .as_str()
                .unwrap()
                .starts_with("Compiled: revision 2026.11.1"),
        "{dropped}"
    );

    let done = event("done").next().expect("the script did not finish");
    assert_eq!(done["errors"], json!([]), "errors in the page");
}
