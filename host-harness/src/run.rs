//! `e911-harness run` and `explain`: one message through the engine.
//!
//! `run` prints exactly the bytes the proxy would forward (or, with `--json`, one object
//! describing the decision); `explain` prints the decision trace for a person.

use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use e911_engine::time::parse_rfc3339;
use e911_engine::{CallCtx, MemoryStore, Report, Transport, Verdict};
use serde::Serialize;

use e911_decider::{Decider, EngineArgs};
use e911_host_files::policy_source;
use e911_host_files::state;

/// What `run` and `explain` take.
#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// Policy: a source folder (compiled now) or a compiled bundle.
    #[arg(long)]
    pub policy: PathBuf,
    /// The transport peer the message came from: IP or IP:PORT.
    #[arg(long)]
    pub peer: String,
    /// The transport it came on.
    #[arg(long, value_enum, default_value = "tcp")]
    pub transport: TransportArg,
    /// The time of arrival (RFC 3339); default now.
    #[arg(long)]
    pub now: Option<String>,
    /// A JSON file holding ELIN callback state between runs.
    #[arg(long)]
    pub state: Option<PathBuf>,
    /// This proxy's host name, used in the Content-IDs it writes.
    #[arg(long, default_value = "edge-1.contoso.com")]
    pub node: String,
    /// Public key files (hex); when given, bundles must be signed by one of them.
    #[arg(long = "trust-key")]
    pub trust_keys: Vec<PathBuf>,
    /// Print one JSON object instead of the forwarded bytes.
    #[arg(long)]
    pub json: bool,
    /// The engine: `--engine component|native`, `--component PATH`.
    #[command(flatten)]
    pub engine: EngineArgs,
    /// The message file, or `-` for standard input.
    pub file: PathBuf,
}

/// `--transport`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
pub enum TransportArg {
    /// UDP.
    Udp,
    /// TCP.
    Tcp,
    /// TLS.
    Tls,
}

impl From<TransportArg> for Transport {
    fn from(arg: TransportArg) -> Self {
        match arg {
            TransportArg::Udp => Self::Udp,
            TransportArg::Tcp => Self::Tcp,
            TransportArg::Tls => Self::Tls,
        }
    }
}

/// One decision and what the run noticed on the way.
pub struct Outcome {
    /// The message as received.
    pub received: Vec<u8>,
    /// The engine's verdict.
    pub verdict: Verdict,
    /// Problems that did not stop the call (unreadable state, …).
    pub warnings: Vec<String>,
}

/// `--now` (RFC 3339) as seconds since the epoch, or the clock's time when it is absent.
pub fn arrival_time(now: Option<&str>) -> Result<u64> {
    match now {
        Some(text) => {
            parse_rfc3339(text).with_context(|| format!("--now {text}: not an RFC 3339 time"))
        }
        None => Ok(SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)),
    }
}

/// Decides one message, loading and saving callback state around it.
pub fn decide(args: &RunArgs) -> Result<Outcome> {
    let keys = policy_source::read_keys(&args.trust_keys)?;
    let received = read_input(&args.file)?;
    let now = arrival_time(args.now.as_deref())?;
    let ctx = CallCtx {
        now,
        peer: Some(parse_peer(&args.peer)?),
        transport: args.transport.into(),
        node: &args.node,
    };
    let mut warnings = Vec::new();
    let store = match &args.state {
        Some(path) => {
            let (store, warning) = state::load(path);
            warnings.extend(warning);
            store
        }
        None => MemoryStore::default(),
    };
    let before = store.clone();
    let mut decider = Decider::new(&args.engine, &args.policy, &keys, store)?;
    let verdict = decider.on_message(&received, &ctx);
    if let Some(path) = &args.state
        && let Some(store) = decider.store()
        && *store != before
        && let Err(err) = state::save(path, store)
    {
        warnings.push(format!("{err:#}"));
    }
    Ok(Outcome {
        received,
        verdict,
        warnings,
    })
}

/// `run`: the forwarded bytes, or the JSON object.
pub fn run(args: &RunArgs) -> Result<()> {
    let outcome = decide(args)?;
    for warning in &outcome.warnings {
        eprintln!("e911-harness: warning: {warning}");
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        let json = serde_json::to_string_pretty(&JsonVerdict::new(&outcome))?;
        writeln!(out, "{json}")?;
    } else {
        out.write_all(outcome.verdict.forwarded(&outcome.received))?;
    }
    Ok(out.flush()?)
}

/// `explain`: the decision for a person.
pub fn explain(args: &RunArgs) -> Result<()> {
    let outcome = decide(args)?;
    print!("{}", explanation(&outcome));
    Ok(())
}

/// The text `explain` prints.
pub fn explanation(outcome: &Outcome) -> String {
    let report = &outcome.verdict.report;
    let mut text = format!("{} call", report.kind.as_str());
    if let Some(dialed) = &report.dialed {
        text.push_str(&format!(" to {dialed}"));
    }
    if let Some(caller) = &report.caller {
        text.push_str(&format!(" from {caller}"));
    }
    text.push_str(&format!(" (bundle revision {})\n", report.bundle_revision));
    for line in &report.trace {
        text.push_str(&format!("  - {line}\n"));
    }
    let edits = outcome.verdict.edits.len();
    text.push_str(&match edits {
        0 => "  => forwarded unchanged\n".to_owned(),
        n => format!("  => forwarded with {n} edit(s)\n"),
    });
    for n in &outcome.verdict.notifications {
        text.push_str(&format!("  => notify {}: {}\n", n.target, n.text));
    }
    for warning in &outcome.warnings {
        text.push_str(&format!("  ! {warning}\n"));
    }
    text
}

/// The `--json` object: the report, the forwarded bytes in base64, and warnings.
#[derive(Serialize)]
pub struct JsonVerdict<'a> {
    #[serde(flatten)]
    report: &'a Report,
    edits: usize,
    warnings: &'a [String],
    message_base64: String,
}

impl<'a> JsonVerdict<'a> {
    /// The object for one outcome.
    pub fn new(outcome: &'a Outcome) -> Self {
        Self {
            report: &outcome.verdict.report,
            edits: outcome.verdict.edits.len(),
            warnings: &outcome.warnings,
            message_base64: base64::engine::general_purpose::STANDARD
                .encode(outcome.verdict.forwarded(&outcome.received)),
        }
    }
}

fn read_input(file: &PathBuf) -> Result<Vec<u8>> {
    if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("reading standard input")?;
        return Ok(bytes);
    }
    std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`.
pub fn parse_peer(text: &str) -> Result<IpAddr> {
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Ok(ip);
    }
    match text.parse::<SocketAddr>() {
        Ok(addr) => Ok(addr.ip()),
        Err(_) => bail!("--peer {text}: not an IP address or IP:PORT"),
    }
}
