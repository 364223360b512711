//! `e911-harness demo`: the sample calls through the engine, one table row each.
//!
//! The calls come from a manifest (`file`, `peer`, `kind`, `shows`, tab-separated) and run
//! in its order with one callback store, as one proxy would see them. Rewritten messages
//! are written to the output folder for reading.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use e911_engine::{CallCtx, MemoryStore, Transport, Verdict};

use crate::run::parse_peer;
use e911_decider::{Decider, EngineArg, EngineArgs};
use e911_host_files::policy_source;

/// One row of the manifest.
pub struct Call {
    /// The message file.
    pub file: PathBuf,
    /// The transport peer.
    pub peer: String,
    /// What the manifest says the message is.
    pub expected: String,
}

/// Reads a manifest; paths are relative to its folder.
pub fn read_manifest(path: &Path) -> Result<Vec<Call>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut calls = Vec::new();
    for (n, line) in text.lines().enumerate().skip(1) {
        let cols: Vec<&str> = line.split('\t').collect();
        let [file, peer, kind, ..] = cols.as_slice() else {
            bail!(
                "{}:{}: expected file, peer, kind, shows separated by tabs",
                path.display(),
                n + 1
            );
        };
        calls.push(Call {
            file: dir.join(file),
            peer: (*peer).to_owned(),
            expected: (*kind).to_owned(),
        });
    }
    Ok(calls)
}

/// Runs the calls and returns the table; fails if a call's kind differs from the manifest.
/// `now` is the first call's time of arrival (`--now`; default the clock), each next call
/// one second later.
pub fn run(
    policy: &Path,
    manifest: &Path,
    out: &Path,
    engine: &EngineArgs,
    now: Option<&str>,
) -> Result<String> {
    let revision = policy_source::load(policy, &[])?.revision().to_owned();
    let mut decider = Decider::new(engine, policy, &[], MemoryStore::default())?;
    let calls = read_manifest(manifest)?;
    std::fs::create_dir_all(out).with_context(|| format!("{}: cannot create", out.display()))?;
    let now = crate::run::arrival_time(now)?;
    let mut table = format!(
        "Policy {} (revision {}), {} calls through the {}; rewritten messages in {}\n\n",
        policy.display(),
        revision,
        calls.len(),
        match engine.engine {
            EngineArg::Component => "component (wasmtime)",
            EngineArg::Native => "native engine",
            EngineArg::ProxyWasm => "Envoy build (proxy-wasm under wasmtime)",
        },
        out.display()
    );
    let _ = writeln!(
        table,
        "{:<30} {:<9} {:<32} {:<14} {:<36} ELIN / notes",
        "call", "kind", "location", "policy", "route"
    );
    let mut mismatches = Vec::new();
    for (i, call) in calls.iter().enumerate() {
        let bytes = std::fs::read(&call.file)
            .with_context(|| format!("{}: cannot read", call.file.display()))?;
        let ctx = CallCtx {
            now: now + i as u64,
            peer: Some(parse_peer(&call.peer)?),
            transport: Transport::Tcp,
            node: "edge-1.contoso.com",
        };
        let verdict = decider.on_message(&bytes, &ctx);
        let name = call
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        std::fs::write(out.join(&name), verdict.forwarded(&bytes))
            .with_context(|| format!("{}: cannot write", out.display()))?;
        let unchanged = verdict.forwarded(&bytes) == bytes.as_slice();
        table.push_str(&row(&name, &verdict, unchanged));
        if verdict.report.kind.as_str() != call.expected {
            mismatches.push(format!(
                "{name}: expected {}, got {}",
                call.expected,
                verdict.report.kind.as_str()
            ));
        }
    }
    if !mismatches.is_empty() {
        bail!(
            "{table}\nthe engine disagrees with the manifest:\n{}",
            mismatches.join("\n")
        );
    }
    Ok(table)
}

fn row(name: &str, verdict: &Verdict, unchanged: bool) -> String {
    let r = &verdict.report;
    let location = r.location.as_ref().map_or_else(
        || "-".to_owned(),
        |l| match (&l.erl, l.element) {
            (Some(erl), Some(element)) => format!("{erl} ({element})"),
            (Some(erl), None) => format!("{erl} ({})", l.source),
            (None, _) => format!("{} PIDF-LO", l.source),
        },
    );
    let route = r
        .route
        .as_ref()
        .map_or_else(|| "-".to_owned(), |rt| format!("{} {}", rt.kind, rt.trunk));
    let mut notes: Vec<String> = Vec::new();
    notes.extend(r.elin.clone());
    if r.kind.as_str() == "callback" {
        notes.extend(verdict.report.trace.last().cloned());
    }
    notes.extend(r.degraded.as_ref().map(|d| format!("degraded: {d}")));
    // Judged on the bytes: the Envoy build's verdict carries no edit list.
    if unchanged {
        notes.push("unchanged".to_owned());
    }
    format!(
        "{:<30} {:<9} {:<32} {:<14} {:<36} {}\n",
        name.trim_end_matches(".sip"),
        r.kind.as_str(),
        location,
        r.policy.as_deref().unwrap_or("-"),
        route,
        notes.join("; ")
    )
}
