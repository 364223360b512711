//! [`Engine::on_message`]: bytes and context in, a [`Verdict`] out (DESIGN §3).
//!
//! The fast path comes first: anything that is not an initial INVITE is forwarded
//! byte-identical after looking at a handful of bytes, and an INVITE whose Request-URI and
//! To make it an ordinary call after reading those alone ([`crate::ordinary`]). Any other
//! INVITE is parsed strictly; one
//! the strict parser refuses is read by the lenient reader ([`e911_sip::salvage`]) and
//! classified like any other, so no limit or stray byte is a reason not to recognise an
//! emergency call, only a reason to degrade. Its facts go through the policy's trust step,
//! then to the policy, and the decision becomes an edit list. No step can refuse an
//! emergency call: a failure while rewriting forwards it on the emergency route with the
//! reason in `degraded` (see [`crate::emergency`]).

use core::net::IpAddr;
use std::sync::Arc;

use e911_policy::{ElinOwner, Policy, TrustedFacts};
use e911_sip::{
    Leniency, Limits, Message, ParseError, Repairs, StartLinePeek, Uri, parse, salvage,
};

use crate::callback::{CallbackStore, Seconds};
use crate::client_location::client_location;
use crate::emergency;
use crate::facts::SipFacts;
use crate::metric::Metric;
use crate::ordinary::{Screen, screen};
use crate::rewrite::{EditOp, apply_checked, priority_ops, strip_asserted_identity};
use crate::time::rfc3339;
use crate::verdict::{Kind, Output, Verdict};

/// The transport a message arrived on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// UDP: one datagram, one message.
    Udp,
    /// TCP.
    Tcp,
    /// TLS (terminated by the host).
    Tls,
}

/// What the host knows about one message besides its bytes.
#[derive(Debug, Clone, Copy)]
pub struct CallCtx<'a> {
    /// Now, in seconds since the Unix epoch: the engine has no clock.
    pub now: Seconds,
    /// The transport peer's address.
    pub peer: Option<IpAddr>,
    /// The transport.
    pub transport: Transport,
    /// This proxy's host name, used in Content-IDs it writes (`…@edge-1.example`).
    pub node: &'a str,
}

/// What hosts accept when they frame streams and read messages to relay them: the standard
/// message size, and bare-LF line ends, which some softphones and test tools send (DESIGN
/// §2.3: accept what real systems send where it is safe). A message is bounded by its size
/// alone: a 911 INVITE that crossed a chain of SBCs may carry hundreds of header fields in
/// a large header section, and no host may refuse to frame or relay it for that. The
/// engine itself parses strictly and reads anything else with the lenient reader, so what
/// it rewrites is always strict.
pub const ENGINE_LIMITS: Limits = Limits {
    max_header_bytes: e911_sip::MAX_MESSAGE_BYTES,
    max_headers: e911_sip::MAX_MESSAGE_BYTES,
    ..Limits::DEFAULT.with_leniency(Leniency {
        allow_lf_only_line_ends: true,
        ..Leniency::STRICT
    })
};

/// The first parse of an INVITE: strict syntax, the standard size limits.
pub(crate) const STRICT: Limits = Limits::DEFAULT;

/// Strict syntax and no size limit of its own: how the engine parses what the lenient
/// reader rebuilt (a 911 with 300 header fields is still a 911; the host bounds the
/// message), and how it checks every message it rewrites.
pub const STRICT_UNBOUNDED: Limits = Limits::STRICT_UNBOUNDED;

/// How an INVITE was read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Reading {
    /// It parsed strictly.
    Strict,
    /// The strict parser refused it (`error`); the lenient reader rebuilt it (`repairs`).
    Salvaged { error: ParseError, repairs: Repairs },
}

impl Reading {
    /// Why a call read this way is degraded, if it is: anything but line ends.
    pub(crate) fn degraded(&self) -> Option<String> {
        match self {
            Self::Strict => None,
            Self::Salvaged { repairs, .. } if repairs.only_line_ends() => None,
            Self::Salvaged { error, repairs } => Some(format!(
                "INVITE does not parse strictly ({error}); read by the lenient reader ({})",
                describe(repairs)
            )),
        }
    }

    /// The trace line, if the message was not read strictly.
    pub(crate) fn trace(&self) -> Option<String> {
        match self {
            Self::Strict => None,
            Self::Salvaged { repairs, .. } if repairs.only_line_ends() => {
                Some("bare LF line ends: read as CRLF, and rewritten with CRLF".to_owned())
            }
            Self::Salvaged { error, repairs } => Some(format!(
                "does not parse strictly ({error}): read by the lenient reader, {}",
                describe(repairs)
            )),
        }
    }
}

/// What the lenient reader changed, in a few words.
fn describe(repairs: &Repairs) -> String {
    use e911_sip::LengthRepair;
    let mut parts = Vec::new();
    if repairs.dropped_lines > 0 {
        parts.push(format!(
            "{} malformed header line(s) left out",
            repairs.dropped_lines
        ));
    }
    match repairs.content_length {
        Some(LengthRepair::Short { declared, present }) => parts.push(format!(
            "Content-Length {declared} but {present} body bytes: the body is what arrived"
        )),
        Some(LengthRepair::Unreadable) => {
            parts.push("Content-Length unreadable: the body runs to the end".to_owned())
        }
        None => {}
    }
    if repairs.request_line {
        parts.push("Request-Line rewritten".to_owned());
    }
    if repairs.blank_line {
        parts.push("no blank line: one added, no body".to_owned());
    }
    if repairs.line_ends {
        parts.push("line ends made CRLF".to_owned());
    }
    if parts.is_empty() {
        parts.push("nothing left out: over a size limit only".to_owned());
    }
    parts.join("; ")
}

/// The decision engine for one compiled policy. Hosts swap whole engines on reload.
#[derive(Debug)]
pub struct Engine {
    policy: Policy,
    /// The policy's revision, shared by every verdict's report.
    revision: Arc<str>,
    failover: Failover,
}

/// Whether the host sends an emergency call to the next trunk of its route when one
/// fails, and so needs each later trunk's message ([`crate::Verdict::alternates`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Failover {
    /// The host fails over (the harness proxy, Kamailio): every later trunk's message is
    /// rendered and checked like the first's.
    #[default]
    ByHost,
    /// The host forwards to the first trunk only (Envoy's `tcp_proxy`): the later
    /// trunks' messages are not rendered, since nothing would send them. The report,
    /// the trace and the ELIN a later ELIN gateway would hold stay as with
    /// [`Failover::ByHost`]; [`crate::Verdict::alternates`] stays empty.
    FirstTrunkOnly,
}

impl Engine {
    /// An engine for `policy`, for a host that fails over ([`Failover::ByHost`]).
    pub fn new(policy: Policy) -> Self {
        Self {
            revision: policy.revision().into(),
            policy,
            failover: Failover::ByHost,
        }
    }

    /// The same engine for a host that fails over as `failover` says.
    #[must_use]
    pub fn with_failover(self, failover: Failover) -> Self {
        Self { failover, ..self }
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Whether [`Engine::on_message`] can do more with `bytes` than pass them as they
    /// are: only an INVITE can start an emergency call or a PSAP callback, and everything
    /// else (responses, ACK, BYE, OPTIONS, REGISTER…) passes without being parsed, with
    /// no use of the context's clock, peer or callback store. A host may skip work for
    /// such messages (reading its clock, say); their verdict is [`Verdict::unchanged`]
    /// with the `now` it passed.
    pub fn may_decide(bytes: &[u8]) -> bool {
        bytes.starts_with(b"INVITE ")
    }

    /// Decides what to do with one complete message (a UDP datagram or a framed TCP
    /// message). Never fails and never panics.
    pub fn on_message(
        &self,
        bytes: &[u8],
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        if !Self::may_decide(bytes) {
            return self.pass(ctx, Vec::new());
        }
        // Most INVITEs are ordinary calls: their Request-URI and To say so.
        let Ok(line) = StartLinePeek::read(bytes, &STRICT) else {
            return self.on_full_invite(bytes, ctx, store);
        };
        match screen(&self.policy, &line) {
            Screen::Ordinary { dialed } => {
                let mut verdict = self.pass(ctx, Vec::new());
                verdict.report.dialed = dialed;
                return verdict;
            }
            Screen::InDialog => return self.in_dialog(ctx),
            Screen::Unsure => {}
        }
        // The strict parse decodes the same start line under the same limits: the
        // screen's Request-URI is the one it would give.
        self.on_full_invite_with(bytes, line.request_uri.ok(), ctx, store)
    }

    /// An INVITE the screen did not settle: parsed strictly, else read leniently, then
    /// decided.
    pub(crate) fn on_full_invite(
        &self,
        bytes: &[u8],
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        self.on_full_invite_with(bytes, None, ctx, store)
    }

    /// [`Engine::on_full_invite`] with the Request-URI of `bytes` when it is decoded
    /// already.
    fn on_full_invite_with<'m>(
        &self,
        bytes: &'m [u8],
        request_uri: Option<Uri<'m>>,
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        match parse(bytes, &STRICT) {
            Ok(msg) => self.on_invite(&msg, request_uri, Reading::Strict, ctx, store),
            Err(error) => self.on_unparsed(bytes, error, ctx, store),
        }
    }

    /// An INVITE the strict parser refused: rebuilt by the lenient reader, then decided
    /// like any other. The rewrite starts from the rebuilt copy, so its edit list would
    /// name fields the host does not have: only the bytes carry it.
    fn on_unparsed(
        &self,
        bytes: &[u8],
        error: ParseError,
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        let salvaged = match salvage(bytes) {
            Ok(salvaged) => salvaged,
            Err(why) => return self.unparsed(ctx, error, &why.to_string()),
        };
        let msg = match parse(&salvaged.bytes, &STRICT_UNBOUNDED) {
            Ok(msg) => msg,
            Err(e) => {
                let why = format!("the lenient reader's copy does not parse ({e})");
                return self.unparsed(ctx, error, &why);
            }
        };
        let reading = Reading::Salvaged {
            error,
            repairs: salvaged.repairs,
        };
        let mut verdict = self.on_invite(&msg, None, reading, ctx, store);
        verdict.edits.clear();
        verdict.report.read_leniently = true;
        verdict
    }

    fn on_invite<'m>(
        &self,
        msg: &Message<'m>,
        request_uri: Option<Uri<'m>>,
        reading: Reading,
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        let sip = SipFacts::read_with(msg, &self.policy.settings().headers, request_uri);
        if sip.in_dialog {
            return self.in_dialog(ctx);
        }
        let facts = self.policy.trust(sip.raw(ctx.peer, ctx.now));
        // DESIGN §3 step 2: a PSAP callback comes from the carrier side. An INVITE to one
        // of our ELINs from a trusted (enterprise) network is an ordinary call.
        if facts.may_be_callback()
            && let Some(owner) = sip.dialed.as_deref().and_then(|d| self.policy.elin(d))
        {
            return self.callback(msg, &sip, &facts, owner, reading, ctx, store);
        }
        let client = client_location(msg, &STRICT_UNBOUNDED);
        let client_location = client
            .pidf()
            .and_then(|p| p.preferred())
            .map(|f| &f.location);
        let facts = facts.with_client_location(client_location);
        let decision = self.policy.evaluate(&facts);
        if !decision.is_emergency() {
            let mut verdict = self.pass(ctx, reading.trace().into_iter().collect());
            verdict.report.dialed = sip.dialed_for_report();
            return verdict;
        }
        let mut verdict = emergency::decide(
            &emergency::Input {
                msg,
                sip: &sip,
                facts: &facts,
                client: &client,
                decision: &decision,
                reading,
                ctx,
                revision: &self.revision,
                provider: self.policy.settings().provider.as_ref(),
                failover: self.failover,
            },
            store,
        );
        verdict.metrics.push(Metric::Messages);
        verdict
    }

    /// An INVITE nothing could read: forwarded unchanged, degraded and audited.
    fn unparsed(&self, ctx: &CallCtx<'_>, error: ParseError, why: &str) -> Verdict {
        let mut verdict = self.pass(
            ctx,
            vec![format!(
                "message does not parse ({error}) and {why}: forwarded unchanged"
            )],
        );
        verdict.report.degraded = Some(format!("unparsed INVITE: {error}; {why}"));
        verdict.metrics.push(Metric::Degraded);
        verdict
    }

    /// An INVITE inside a dialog: forwarded unchanged.
    pub(crate) fn in_dialog(&self, ctx: &CallCtx<'_>) -> Verdict {
        self.pass(
            ctx,
            vec!["in-dialog request (To has a tag): not a new call".to_owned()],
        )
    }

    /// A verdict that forwards the message unchanged.
    fn pass(&self, ctx: &CallCtx<'_>, trace: Vec<String>) -> Verdict {
        Verdict::unchanged(ctx.now, Arc::clone(&self.revision), trace)
    }

    /// DESIGN §3 step 8: an INVITE to one of our ELINs is a PSAP calling back. Within
    /// the window it goes to the caller who used the ELIN, marked `Priority:
    /// psap-callback` (RFC 7090 §5); after it, to the policy's callback fallback.
    #[allow(clippy::too_many_arguments)]
    fn callback(
        &self,
        msg: &Message<'_>,
        sip: &SipFacts<'_>,
        facts: &TrustedFacts<'_>,
        owner: ElinOwner<'_>,
        reading: Reading,
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        let mut verdict = self.pass(ctx, Vec::new());
        let report = &mut verdict.report;
        report.kind = Kind::Callback;
        report.call_id = sip.call_id.as_deref().map(str::to_owned);
        report.caller = facts.caller().map(|(uri, _)| uri.to_owned());
        report.dialed = sip.dialed.as_deref().map(str::to_owned);
        report.elin = Some(owner.elin.to_owned());
        report.trace.extend(reading.trace());
        report.trace.push(format!(
            "INVITE to ELIN {} of ERL {} from a {} peer: a PSAP callback",
            owner.elin,
            owner.erl.id,
            facts.peer().as_str()
        ));
        let entry = store.get(owner.elin);
        let target = match &entry {
            Some(entry) if entry.is_active(ctx.now) => {
                report.trace.push(format!(
                    "ELIN {} stands for {} until {} (call {})",
                    owner.elin,
                    entry.caller,
                    rfc3339(entry.expires_at),
                    entry.call_id
                ));
                verdict.metrics.push(Metric::CallbackMatched);
                Some(entry.caller.clone())
            }
            _ => {
                let fallback =
                    self.callback_fallback(entry.as_ref().and_then(|e| e.policy.as_deref()));
                report.trace.push(match (&entry, &fallback) {
                    (Some(e), Some(f)) => format!(
                        "callback window closed at {}: fallback {f}",
                        rfc3339(e.expires_at)
                    ),
                    (None, Some(f)) => format!("no caller on record for this ELIN: fallback {f}"),
                    (_, None) => {
                        "no caller on record and no callback fallback: forwarded unchanged"
                            .to_owned()
                    }
                });
                verdict.metrics.push(Metric::CallbackExpired);
                fallback
            }
        };
        verdict.report.degraded = reading.degraded();
        let Some(target) = target else { return verdict };
        let mut ops = vec![EditOp::SetRequestUri(target.clone())];
        priority_ops(msg, "psap-callback", &mut ops);
        if facts.strips_asserted_identity() {
            ops.extend(strip_asserted_identity(msg));
        }
        match apply_checked(msg, &ops) {
            Ok(bytes) => {
                verdict
                    .report
                    .trace
                    .push(format!("re-targeted to {target}, Priority: psap-callback"));
                verdict.output = Output::Rewritten(bytes);
                verdict.edits = ops;
            }
            Err(err) => {
                verdict.report.degraded = Some(format!(
                    "callback rewrite failed ({err}): forwarded unchanged"
                ));
            }
        }
        if verdict.report.degraded.is_some() {
            verdict.metrics.push(Metric::Degraded);
        }
        verdict
    }

    /// The callback fallback of the policy that handed the ELIN out, else the global one.
    fn callback_fallback(&self, policy_id: Option<&str>) -> Option<String> {
        let policies = self.policy.policies();
        let global = policies.get(self.policy.settings().global_policy as usize);
        let chosen = policy_id
            .and_then(|id| policies.iter().find(|p| p.id == id))
            .or(global)?;
        chosen.callback_fallback.clone()
    }
}
