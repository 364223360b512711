//! [`Session`]: one page's playground state as plain Rust (the wasm-bindgen layer in
//! `lib.rs` only turns its answers into JSON), so `cargo test` exercises all of it.

use std::net::{IpAddr, SocketAddr};

use e911_engine::time::parse_rfc3339;
use e911_engine::{CallCtx, Engine, MemoryStore, Notification, Report, Transport};
use e911_policy::{Counts, ElementRow, HeaderNames, Problem, Sources};
use serde::{Deserialize, Serialize};

use crate::coverage::{self, Coverage};
use crate::diff::{self, DiffLine};
use crate::network_facts::{self, NetworkFacts};
use crate::pidf;

/// The policy in force and the element rows its coverage view lists.
struct Active {
    engine: Engine,
    elements: Vec<ElementRow>,
}

/// Sources being edited, the last policy that compiled, and the ELIN callback store.
#[derive(Default)]
pub struct Session {
    sources: Sources,
    active: Option<Active>,
    store: MemoryStore,
}

/// One problem, with its `file:line: message` text as the harness prints it.
#[derive(Debug, Serialize)]
pub struct ProblemView {
    /// The source file.
    pub file: String,
    /// 1-based line; 0 for the bundle as a whole.
    pub line: u32,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong.
    pub message: String,
    /// `file:line: message`.
    pub text: String,
}

impl From<&Problem> for ProblemView {
    fn from(p: &Problem) -> Self {
        Self {
            file: p.file.clone(),
            line: p.line,
            column: p.column,
            message: p.message.clone(),
            text: p.to_string(),
        }
    }
}

/// What a compile answers.
#[derive(Debug, Serialize)]
pub struct Compiled {
    /// Whether these sources compiled (and are now in force).
    pub ok: bool,
    /// Every problem, sorted by file and line.
    pub problems: Vec<ProblemView>,
    /// The revision in force now: the new one, or the last good one after a failure.
    pub revision: Option<String>,
    /// What the policy in force holds.
    pub counts: Option<Counts>,
    /// The header names the policy in force reads LLDP facts from.
    pub headers: Option<HeaderNames>,
}

/// The call's context, as the page's form gives it.
#[derive(Debug, Default, Deserialize)]
pub struct DecideInput {
    /// The transport peer: `IP`, `IP:PORT` or `[IPv6]:PORT`; empty for none.
    #[serde(default)]
    pub peer: String,
    /// `udp`, `tcp` or `tls`.
    #[serde(default)]
    pub transport: String,
    /// Arrival time, RFC 3339.
    pub now: String,
    /// This proxy's host name, used in the Content-IDs it writes.
    pub node: String,
    /// Network facts a trusted edge would add as headers.
    #[serde(flatten)]
    pub network: NetworkFacts,
}

/// A decision, with what the page shows around it.
#[derive(Debug, Serialize)]
pub struct Decided {
    /// The decision, serialized as `e911-harness run --json` serializes it.
    pub report: Report,
    /// How many edits were made.
    pub edits: usize,
    /// Notifications for the security desk.
    pub notifications: Vec<Notification>,
    /// The header lines the network facts added, if any.
    pub facts_added: Vec<String>,
    /// The message as the engine received it (with those lines).
    pub received: String,
    /// The message as forwarded.
    pub forwarded: String,
    /// Received against forwarded, line by line.
    pub diff: Vec<DiffLine>,
    /// The PIDF-LO the forwarded message carries, if any.
    pub pidf: Option<String>,
}

/// Input the page could not use, in one line.
#[derive(Debug, Serialize)]
pub struct Failure {
    /// What was wrong.
    pub error: String,
}

impl Failure {
    /// A failure saying `error`.
    pub fn new(error: impl Into<String>) -> Self {
        Self {
            error: error.into(),
        }
    }
}

/// A decision, or why there is none.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum DecideAnswer {
    /// The engine decided.
    Decided(Box<Decided>),
    /// The input was not usable.
    Failed(Failure),
}

impl Session {
    /// Forgets the source files; the policy in force stays.
    pub fn clear_files(&mut self) {
        self.sources = Sources::new();
    }

    /// Adds one source file.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) {
        self.sources.add(name, bytes);
    }

    /// Compiles the files. On success the new policy is in force; on failure every problem
    /// is answered and the last good policy stays (a bad bundle never replaces a good one).
    pub fn compile(&mut self) -> Compiled {
        let problems = match self.sources.compile_with_elements() {
            Ok((policy, elements)) => {
                self.active = Some(Active {
                    engine: Engine::new(policy),
                    elements,
                });
                Vec::new()
            }
            Err(problems) => problems.iter().map(ProblemView::from).collect(),
        };
        let policy = self.active.as_ref().map(|a| a.engine.policy());
        Compiled {
            ok: problems.is_empty(),
            problems,
            revision: policy.map(|p| p.revision().to_owned()),
            counts: policy.map(|p| p.counts()),
            headers: policy.map(|p| p.settings().headers.clone()),
        }
    }

    /// Decides one message with the policy in force.
    pub fn decide(&mut self, message: &[u8], input: &DecideInput) -> DecideAnswer {
        match self.try_decide(message, input) {
            Ok(decided) => DecideAnswer::Decided(Box::new(decided)),
            Err(error) => DecideAnswer::Failed(Failure::new(error)),
        }
    }

    fn try_decide(&mut self, message: &[u8], input: &DecideInput) -> Result<Decided, String> {
        let active = self
            .active
            .as_ref()
            .ok_or("no policy in force: load and compile a policy first")?;
        let now = parse_rfc3339(input.now.trim())
            .ok_or_else(|| format!("time `{}`: not an RFC 3339 time", input.now))?;
        let ctx = CallCtx {
            now,
            peer: parse_peer(&input.peer)?,
            transport: parse_transport(&input.transport)?,
            node: input.node.trim(),
        };
        let headers = &active.engine.policy().settings().headers;
        let (received, facts_added) = network_facts::apply(message, &input.network, headers)?;
        let verdict = active.engine.on_message(&received, &ctx, &mut self.store);
        let forwarded = verdict.forwarded(&received);
        Ok(Decided {
            edits: verdict.edits.len(),
            notifications: verdict.notifications.clone(),
            facts_added,
            received: String::from_utf8_lossy(&received).into_owned(),
            forwarded: String::from_utf8_lossy(forwarded).into_owned(),
            diff: diff::lines(&received, forwarded),
            pidf: pidf::carried(forwarded),
            report: verdict.report,
        })
    }

    /// The coverage of the policy in force.
    pub fn coverage(&self) -> Option<Coverage> {
        let active = self.active.as_ref()?;
        Some(coverage::of(active.engine.policy(), &active.elements))
    }

    /// Forgets every ELIN handed out.
    pub fn forget_callbacks(&mut self) {
        self.store = MemoryStore::default();
    }
}

/// `IP`, `IP:PORT` or `[IPv6]:PORT`; empty means no peer.
fn parse_peer(text: &str) -> Result<Option<IpAddr>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    text.parse::<IpAddr>()
        .or_else(|_| text.parse::<SocketAddr>().map(|a| a.ip()))
        .map(Some)
        .map_err(|_| format!("peer `{text}`: not an IP address or IP:PORT"))
}

fn parse_transport(text: &str) -> Result<Transport, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "udp" => Ok(Transport::Udp),
        "tcp" | "" => Ok(Transport::Tcp),
        "tls" => Ok(Transport::Tls),
        other => Err(format!("transport `{other}`: expected udp, tcp or tls")),
    }
}

#[cfg(test)]
mod tests;
