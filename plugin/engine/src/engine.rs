//! [`Engine::on_message`]: bytes and context in, a [`Verdict`] out (DESIGN §3).
//!
//! The fast path comes first: anything that is not an initial INVITE is forwarded
//! byte-identical after looking at a handful of bytes. An INVITE is parsed, its facts go
//! to the policy, and the decision becomes an edit list. No step can refuse an emergency
//! call: a failure while rewriting forwards it on the emergency route with the reason in
//! `degraded` (see [`crate::emergency`]).

use core::net::IpAddr;

use e911_policy::{CallKind, ElinOwner, Policy};
use e911_sip::{HeaderKind, Leniency, Limits, Message, parse};

use crate::callback::{CallbackStore, Seconds};
use crate::client_location::client_location;
use crate::emergency;
use crate::facts::SipFacts;
use crate::rewrite::{EditOp, Position, apply};
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

/// What the engine accepts by default: the standard size limits, and bare-LF line ends,
/// which some softphones and test tools send (DESIGN §2.3: accept what real systems send
/// where it is safe). An emergency INVITE with LF-only lines must still be recognised;
/// the lines the engine adds end in CRLF, which every parser accepts.
pub const ENGINE_LIMITS: Limits = Limits::DEFAULT.with_leniency(Leniency {
    allow_lf_only_line_ends: true,
    ..Leniency::STRICT
});

/// The decision engine for one compiled policy. Hosts swap whole engines on reload.
#[derive(Debug)]
pub struct Engine {
    policy: Policy,
    limits: Limits,
}

impl Engine {
    /// An engine for `policy` with the default message limits.
    pub fn new(policy: Policy) -> Self {
        Self {
            policy,
            limits: ENGINE_LIMITS,
        }
    }

    /// The same engine with other message limits.
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The message limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decides what to do with one complete message (a UDP datagram or a framed TCP
    /// message). Never fails and never panics.
    pub fn on_message(
        &self,
        bytes: &[u8],
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        // Only an INVITE can start an emergency call or a PSAP callback; everything else
        // (responses, ACK, BYE, OPTIONS, REGISTER…) passes without being parsed.
        if !bytes.starts_with(b"INVITE ") {
            return self.pass(ctx, Vec::new());
        }
        let msg = match parse(bytes, &self.limits) {
            Ok(msg) => msg,
            Err(err) => {
                let mut verdict = self.pass(
                    ctx,
                    vec![format!(
                        "message does not parse ({err}): forwarded unchanged"
                    )],
                );
                verdict.report.degraded = Some(format!("unparsed INVITE: {err}"));
                verdict.metrics.push("e911.degraded");
                return verdict;
            }
        };
        let facts = SipFacts::read(&msg, &self.policy.settings().headers);
        if facts.in_dialog {
            return self.pass(
                ctx,
                vec!["in-dialog request (To has a tag): not a new call".to_owned()],
            );
        }
        // DESIGN §3 step 2: a PSAP callback comes from the carrier side. An INVITE to one
        // of our ELINs from a trusted (enterprise) network is an ordinary call.
        let from_carrier = !ctx.peer.is_some_and(|ip| self.policy.is_trusted(ip));
        if from_carrier
            && let Some(owner) = facts.dialed.as_deref().and_then(|d| self.policy.elin(d))
        {
            return self.callback(&msg, &facts, owner, ctx, store);
        }
        let client = client_location(&msg, &self.limits);
        let client_location = client
            .pidf()
            .and_then(|p| p.preferred())
            .map(|f| &f.location);
        let decision = self
            .policy
            .evaluate(&facts.call_facts(ctx.peer, client_location, ctx.now));
        if decision.kind == CallKind::None {
            let mut verdict = self.pass(ctx, Vec::new());
            verdict.report.dialed = facts.dialed.clone().or_else(|| facts.service_urn.clone());
            return verdict;
        }
        let mut verdict = emergency::decide(
            &emergency::Input {
                msg: &msg,
                facts: &facts,
                client: &client,
                decision: &decision,
                ctx,
                revision: self.policy.revision(),
                limits: &self.limits,
            },
            store,
        );
        verdict.metrics.push("e911.messages");
        verdict
    }

    /// A verdict that forwards the message unchanged.
    fn pass(&self, ctx: &CallCtx<'_>, trace: Vec<String>) -> Verdict {
        Verdict::unchanged(ctx.now, self.policy.revision().to_owned(), trace)
    }

    /// DESIGN §3 step 8: an INVITE to one of our ELINs is a PSAP calling back. Within
    /// the window it goes to the caller who used the ELIN, marked `Priority:
    /// psap-callback` (RFC 7090 §5); after it, to the policy's callback fallback.
    fn callback(
        &self,
        msg: &Message<'_>,
        facts: &SipFacts,
        owner: ElinOwner<'_>,
        ctx: &CallCtx<'_>,
        store: &mut dyn CallbackStore,
    ) -> Verdict {
        let mut verdict = self.pass(ctx, Vec::new());
        let report = &mut verdict.report;
        report.kind = Kind::Callback;
        report.call_id = facts.call_id.clone();
        report.caller = facts.caller.clone();
        report.dialed = facts.dialed.clone();
        report.elin = Some(owner.elin.to_owned());
        report.trace.push(format!(
            "INVITE to ELIN {} of ERL {}: a PSAP callback",
            owner.elin, owner.erl.id
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
                verdict.metrics.push("e911.callback.matched");
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
                verdict.metrics.push("e911.callback.expired");
                fallback
            }
        };
        let Some(target) = target else { return verdict };
        let mut ops = vec![EditOp::SetRequestUri(target.clone())];
        ops.extend(priority_psap_callback(msg));
        match apply(msg, &ops) {
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
                verdict.metrics.push("e911.degraded");
            }
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

/// `Priority: psap-callback` (RFC 7090 §5), replacing any Priority the PSAP sent.
fn priority_psap_callback(msg: &Message<'_>) -> Vec<EditOp> {
    let mut fields = msg
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| f.kind == HeaderKind::Priority)
        .map(|(i, _)| u32::try_from(i).unwrap_or(u32::MAX));
    let value = "psap-callback".to_owned();
    let mut ops = match fields.next() {
        Some(field) => vec![EditOp::ReplaceHeader { field, value }],
        None => vec![EditOp::InsertHeader {
            name: "Priority".to_owned(),
            value,
            position: Position::End,
        }],
    };
    ops.extend(fields.map(|field| EditOp::RemoveHeader { field }));
    ops
}
