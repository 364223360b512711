//! `e911-harness proxy` under test: started, waited for, and its audit log read back.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use super::harness;
use super::process::Guard;

/// Starts the proxy (stderr to `dir/proxy.log`) and waits for its "ready" line.
pub fn start_proxy(args: &[String], dir: &Path) -> Guard {
    let mut guard = Guard::spawn(
        Command::new(harness())
            .arg("proxy")
            .args(args)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("proxy.log")).unwrap()),
    );
    let stdout = guard.child().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if line.contains("ready") {
                let _ = tx.send(());
            }
        }
    });
    // A cold start compiles the component; on a 2-core runner busy with other tests
    // that took over 20 s once. A proxy that never starts still fails here.
    if rx.recv_timeout(Duration::from_secs(60)).is_err() {
        panic!("the proxy did not start:\n{}", proxy_log(dir));
    }
    guard
}

/// What the proxy wrote to stderr so far.
pub fn proxy_log(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()
}

/// Every line of `state/audit.jsonl`: decisions and the proxy's own events.
fn audit_lines(state: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(state.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The decisions in `state/audit.jsonl`.
pub fn audit(state: &Path) -> Vec<serde_json::Value> {
    audit_lines(state)
        .into_iter()
        .filter(|r| r.get("event").is_none())
        .collect()
}

/// The proxy's own events in `state/audit.jsonl` (failover steps).
pub fn audit_events(state: &Path) -> Vec<serde_json::Value> {
    audit_lines(state)
        .into_iter()
        .filter(|r| r.get("event").is_some())
        .collect()
}
