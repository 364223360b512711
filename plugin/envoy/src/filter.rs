//! The proxy-wasm contexts: [`Root`] (configuration, bundle source, HTTP poll, etcd
//! sync) and [`Stream`] (one TCP connection, both directions). Translation only: framing
//! is [`crate::framer`], decisions are [`crate::decide`], waiting for etcd is
//! [`crate::gate`] and [`crate::replicated`].

use std::cell::Cell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use e911_engine::{Engine, Verdict};
use e911_etcd::wire;
use e911_sip::{Limits, Unframed};
use proxy_wasm::traits::{Context, RootContext, StreamContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, PeerType};

use crate::active::{self, HostShared};
use crate::addresses::parse_peer;
use crate::config::{BundleSource, Config, EtcdStore};
use crate::decide::{Judged, finish, judge, notification_answered};
use crate::framer::{Direction, Fed, Forward};
use crate::gate::{Gate, HoldId, Next};
use crate::replicated::{Confirmed, Keys, Plan, TRIES, lease_for};
use crate::shared::claim_poller;
use crate::sync::{Sent, Sync, answer, longest_window, member_answered, send_within};
use crate::{host, metrics};

const NANOS: u64 = 1_000_000_000;

/// The root context: one per worker and plugin configuration.
pub struct Root {
    holder: String,
    config: Option<Rc<Config>>,
    etag: Option<String>,
    poll_token: Option<u32>,
    next_poll_ns: u64,
    sync: Option<Sync>,
}

impl Root {
    /// A root context with id `context_id`.
    pub fn new(context_id: u32) -> Self {
        Self {
            // Unique among the workers' VMs: context ids repeat across VMs, start times
            // do not.
            holder: format!("{context_id}-{}", host::now_nanos()),
            config: None,
            etag: None,
            poll_token: None,
            next_poll_ns: 0,
            sync: None,
        }
    }

    fn poll(&mut self, http: &crate::config::HttpSource, now_ns: u64) {
        self.next_poll_ns = now_ns + u64::from(http.poll_seconds) * NANOS;
        let lease = now_ns + 3 * u64::from(http.poll_seconds) * NANOS;
        if self.poll_token.is_some() || !claim_poller(&HostShared, &self.holder, now_ns, lease) {
            return;
        }
        let mut headers = vec![
            (":method", "GET"),
            (":path", http.path.as_str()),
            (":authority", http.authority.as_str()),
        ];
        if let Some(etag) = &self.etag {
            headers.push(("if-none-match", etag.as_str()));
        }
        let timeout = Duration::from_secs(u64::from(http.poll_seconds).max(2));
        match host::http_call(&http.cluster, headers, None, timeout) {
            Ok(token) => self.poll_token = Some(token),
            Err(status) => {
                metrics::count(metrics::RELOAD_FAILURES);
                host::log(
                    LogLevel::Warn,
                    &format!(
                        "e911: bundle poll through cluster {} not sent ({status:?}): previous bundle stays",
                        http.cluster
                    ),
                );
            }
        }
    }

    fn polled(&mut self, body_size: usize) {
        self.poll_token = None;
        let status = host::call_response_header(":status").unwrap_or_default();
        let Some(config) = self.config.clone() else {
            return;
        };
        let path = match &config.bundle {
            BundleSource::Http(http) => http.path.as_str(),
            BundleSource::Inline(_) => return,
        };
        match status.as_str() {
            "304" => {}
            "200" => {
                let body = host::buffer(BufferType::HttpCallResponseBody, body_size);
                // The ETag is kept for a refused bundle too: the server then answers 304
                // until it serves another one, and the refusal is reported once.
                self.etag = host::call_response_header("etag");
                match active::load_admitted(&body, &config.trusted_keys, config.rollback) {
                    Ok(loaded) => active::activate(&body, loaded, &format!("GET {path}")),
                    Err(why) => refuse(&format!("GET {path}"), &why),
                }
            }
            "" => refuse(&format!("GET {path}"), "no answer (timeout or no upstream)"),
            other => refuse(&format!("GET {path}"), &format!("answered {other}")),
        }
    }
}

/// Reports a refused bundle: one log line and the reload-failure counter.
fn refuse(origin: &str, why: &str) {
    metrics::count(metrics::RELOAD_FAILURES);
    host::log(
        LogLevel::Error,
        &format!("e911: policy bundle from {origin} refused, previous one stays active: {why}"),
    );
}

impl Context for Root {
    fn on_http_call_response(&mut self, token: u32, _headers: usize, body: usize, _: usize) {
        if self.poll_token == Some(token) {
            self.polled(body);
            return;
        }
        if let (Some(sync), Some(etcd)) = (
            &mut self.sync,
            self.config.as_ref().and_then(|c| c.etcd.as_ref()),
        ) && sync.answered(etcd, token, body)
        {
            return;
        }
        notification_answered();
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        let json = host::buffer(BufferType::PluginConfiguration, size);
        let config = match Config::parse(&json) {
            Ok(config) => config,
            Err(why) => {
                metrics::predefine(false);
                metrics::count(metrics::RELOAD_FAILURES);
                host::log(LogLevel::Error, &format!("e911: {why}"));
                return false;
            }
        };
        metrics::predefine(config.etcd.is_some());
        match &config.bundle {
            BundleSource::Inline(bytes) => {
                match active::load_admitted(bytes, &config.trusted_keys, config.rollback) {
                    Ok(loaded) => active::activate(bytes, loaded, "the plugin configuration"),
                    Err(why) => {
                        // Refusing the configuration keeps Envoy on the previous one (ECDS)
                        // or stops it starting with a broken bundle (static).
                        refuse("the plugin configuration", &why);
                        return false;
                    }
                }
            }
            BundleSource::Http(_) => {}
        }
        // Tick every second for the message counter (`metrics::flush`), the bundle poll
        // (the poller's lease and the first poll come soon; polls themselves follow
        // poll_seconds) and the etcd sync.
        if let Err(status) = host::set_tick(Duration::from_secs(1)) {
            host::log(
                LogLevel::Error,
                &format!(
                    "e911: cannot set a tick for the counters, bundle poll and etcd ({status:?})"
                ),
            );
            return false;
        }
        self.sync = config
            .etcd
            .as_ref()
            .map(|etcd| Sync::new(&self.holder, etcd));
        self.config = Some(Rc::new(config));
        true
    }

    fn on_tick(&mut self) {
        metrics::flush();
        let Some(config) = self.config.clone() else {
            return;
        };
        let now = host::now_nanos();
        if let BundleSource::Http(http) = &config.bundle
            && now >= self.next_poll_ns
        {
            self.poll(http, now);
        }
        // Load a bundle another worker's poll published now, within a tick, so the
        // first message after it does not wait for a large bundle to load.
        let engine = active::current(&config.trusted_keys);
        if let (Some(sync), Some(etcd)) = (&mut self.sync, &config.etcd) {
            sync.tick(etcd, now, longest_window(engine.as_deref()));
        }
    }

    fn create_stream_context(&self, _context_id: u32) -> Option<Box<dyn StreamContext>> {
        // Never `None`: the SDK panics on it. Without a configuration (Envoy does not open
        // connections before a successful configure, but a VM is no place to find out),
        // the connection passes through untouched.
        let config = self.config.clone();
        Some(Box::new(Stream {
            limits: config
                .as_ref()
                .map_or(e911_engine::ENGINE_LIMITS, |c| c.limits()),
            keys: config
                .as_ref()
                .and_then(|c| c.etcd.as_ref())
                .map(|etcd| Keys::new(&etcd.prefix)),
            late: Vec::new(),
            config,
            down: Side::new(BufferType::DownstreamData, "source"),
            up: Side::new(BufferType::UpstreamData, "upstream"),
        }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::StreamContext)
    }
}

/// One direction of a connection: its buffer, its framing state and the peer it comes
/// from (whose address the engine's trust and callback rules need).
struct Side {
    buffer: BufferType,
    property: &'static str,
    peer: Option<IpAddr>,
    direction: Direction,
    /// What waits for etcd (downstream only: Envoy cannot resume the upstream side of
    /// a network filter).
    gate: Gate<Hold>,
}

impl Side {
    fn new(buffer: BufferType, property: &'static str) -> Self {
        Self {
            buffer,
            property,
            peer: None,
            direction: Direction::default(),
            gate: Gate::default(),
        }
    }

    fn peer(&mut self) -> Option<IpAddr> {
        if self.peer.is_none() {
            self.peer =
                host::property(&[self.property, "address"]).and_then(|text| parse_peer(&text));
        }
        self.peer
    }
}

/// A message whose decision waits for etcd to confirm it.
struct Hold {
    /// The message as received.
    message: Vec<u8>,
    /// The decision made on this proxy's copy.
    verdict: Verdict,
    /// The transaction that confirms it.
    plan: Plan,
    /// Decisions made so far: one, plus one per race lost to another proxy.
    tries: u8,
    /// Requests sent for it (a failed one is retried on another member while the wait
    /// lasts).
    sends: u8,
    /// The request in flight.
    sent: Option<Sent>,
    /// Not sent yet: an earlier decision on this connection writes the same ELIN and
    /// its answer is not in. Decided again once it is (the mirror then has etcd's
    /// revision to compare), rather than sent now to lose the race to its neighbour.
    blocked: bool,
    started_ns: u64,
    deadline_ns: u64,
}

/// Requests one decision may send: a refused connection to a dead member is retried,
/// a cluster refusing everything is not hammered.
const MAX_SENDS: u8 = 4;

/// The shortest wait worth a request (a member on the LAN answers in a few ms).
const MIN_TRY_NS: u64 = 5_000_000;

/// What deciding a held message again came to.
enum Again {
    /// Final without etcd: settle it as confirmed.
    Final,
    /// Its transaction is in flight, or waits behind a neighbour's.
    Sent,
    /// It needs etcd and cannot ask it: settle it degraded.
    Unsent,
}

/// How a held decision ended.
enum Settled {
    /// etcd agreed with it.
    Confirmed,
    /// It went on without etcd's agreement, for this reason.
    Degraded(String),
}

/// The host's clock for one data event: read at most once, and only when something needs
/// the time (an INVITE to decide, a held decision). Each read is a crossing out of the VM,
/// and most messages of a call (responses, ACK, BYE) are passed without the time.
#[derive(Default)]
struct Clock {
    read: Option<u64>,
}

thread_local! {
    /// The last time any data event read, for the verdicts of messages passed without it.
    static LAST_READ_NS: Cell<u64> = const { Cell::new(0) };
}

impl Clock {
    fn nanos(&mut self) -> u64 {
        *self.read.get_or_insert_with(|| {
            let now = host::now_nanos();
            let _ = LAST_READ_NS.try_with(|last| last.set(now));
            now
        })
    }

    /// The time to give a message the engine passes without looking at it
    /// ([`Engine::may_decide`]): this event's, else the last one read.
    fn last(&self) -> u64 {
        self.read
            .unwrap_or_else(|| LAST_READ_NS.try_with(Cell::get).unwrap_or(0))
    }
}

/// One TCP connection through the filter.
pub struct Stream {
    config: Option<Rc<Config>>,
    limits: Limits,
    /// The etcd keys, when the callback store is replicated.
    keys: Option<Keys>,
    /// Requests of decisions that stopped waiting (their answers are ignored).
    late: Vec<u32>,
    down: Side,
    up: Side,
}

impl Stream {
    fn on_data(&mut self, downstream: bool, size: usize, end_of_stream: bool) -> Action {
        let Some(config) = self.config.clone() else {
            return Action::Continue;
        };
        let side = if downstream {
            &mut self.down
        } else {
            &mut self.up
        };
        if size == 0 && side.direction.pending() == 0 && !side.gate.is_waiting() {
            return Action::Continue;
        }
        let data = host::buffer(side.buffer, size);
        if data.len() != size {
            // The host would not give the bytes: leave its buffer alone (it is forwarded
            // as it is) and stop framing this direction rather than reorder bytes.
            metrics::count(metrics::HOST_ERRORS);
            return Action::Continue;
        }
        let mut clock = Clock::default();
        let peer = side.peer();
        if side.gate.is_waiting() {
            // Frame only: the messages are decided in the gate, behind what waits.
            let fed = side
                .direction
                .feed(&data, end_of_stream, &self.limits, |_| Forward::Stop);
            report_unframed(&fed, downstream, peer, &self.limits);
            let before = fed.replacement.clone().unwrap_or_else(|| data.clone());
            side.gate.keep(before, fed.rest);
            return self.wait_on(size, clock.nanos());
        }
        let mut held = None;
        let fed = side
            .direction
            .feed(&data, end_of_stream, &self.limits, |message| {
                // Only what the engine may decide needs the time and a look for a new
                // bundle; a response, ACK or BYE passes with neither.
                let (engine, now_ns) = if Engine::may_decide(message) {
                    let now_ns = clock.nanos();
                    (active::for_message(&config.trusted_keys, now_ns), now_ns)
                } else {
                    (active::engine(), clock.last())
                };
                match judge(engine.as_deref(), message, peer, now_ns / NANOS, &config) {
                    Judged::Final(verdict) => finish(verdict, &config).into(),
                    Judged::Waits(verdict, plan) if downstream => {
                        held = Some(Hold::new(message, verdict, plan, now_ns, &config));
                        Forward::Stop
                    }
                    Judged::Waits(verdict, plan) => {
                        finish(write_behind(verdict, &plan), &config).into()
                    }
                }
            });
        report_unframed(&fed, downstream, peer, &self.limits);
        let Some(hold) = held else {
            if let Some(out) = &fed.replacement {
                replace(side.buffer, size, out);
            }
            return Action::Continue;
        };
        hold.plan.tentative(&HostShared);
        let mut rest = fed.rest.into_iter();
        // The first piece kept is the held message itself.
        let _ = rest.next();
        let id = side.gate.hold(fed.replacement.unwrap_or_default(), hold);
        side.gate.keep(Vec::new(), rest);
        self.send_or_settle(id);
        self.wait_on(size, clock.nanos())
    }

    /// After data went into the gate: its waiting messages decided (a decision that
    /// waits too sends its request now), Envoy's buffer emptied of what the gate holds,
    /// and the connection paused while anything waits.
    fn wait_on(&mut self, size: usize, now_ns: u64) -> Action {
        self.decide_waiting(now_ns);
        let bound = self.limits.max_message_bytes as usize * 2;
        if self.down.gate.bytes() > bound {
            // Envoy's flow control does not see what waits here: stop waiting rather
            // than hold more than two messages' worth of a connection.
            for id in self.down.gate.ids() {
                self.settle(
                    id,
                    Settled::Degraded(format!(
                        "callback store (etcd): over {bound} bytes arrived while waiting"
                    )),
                );
            }
        }
        if self.down.gate.is_waiting() {
            // A paused connection forwards nothing: even what is ready waits in the gate
            // until an answer resumes the connection.
            replace(BufferType::DownstreamData, size, &[]);
            return Action::Pause;
        }
        let out = self.down.gate.ready();
        replace(BufferType::DownstreamData, size, &out);
        Action::Continue
    }

    /// Decides the messages waiting in the gate; those that wait too send their
    /// requests (and are settled degraded at once if they cannot).
    fn decide_waiting(&mut self, now_ns: u64) {
        let Some(config) = self.config.clone() else {
            return;
        };
        let engine = active::for_message(&config.trusted_keys, now_ns);
        let peer = self.down.peer;
        let held = self.down.gate.decide(|message| {
            match judge(engine.as_deref(), message, peer, now_ns / NANOS, &config) {
                Judged::Final(verdict) => {
                    finish(verdict, &config).map_or(Next::Same, Next::Changed)
                }
                Judged::Waits(verdict, plan) => {
                    plan.tentative(&HostShared);
                    Next::Hold(Hold::new(message, verdict, plan, now_ns, &config))
                }
            }
        });
        for id in held {
            self.send_or_settle(id);
        }
    }

    /// Sends decision `id`'s transaction (or leaves it blocked behind an earlier one on
    /// the same ELIN), or settles it degraded when it cannot be sent.
    fn send_or_settle(&mut self, id: HoldId) {
        if self.writes_in_flight(id) {
            if let Some(hold) = self.down.gate.hold_mut(id) {
                hold.blocked = true;
            }
            return;
        }
        if !self.send(id) {
            self.settle(
                id,
                Settled::Degraded("callback store (etcd) could not be asked".to_owned()),
            );
        }
    }

    /// Whether an earlier decision waiting here has a request in flight that writes an
    /// ELIN decision `id` writes.
    fn writes_in_flight(&self, id: HoldId) -> bool {
        let mut holds = self.down.gate.holds();
        let Some(mine) = holds.find(|(other, _)| *other == id).map(|(_, h)| h) else {
            return false;
        };
        let writes = |hold: &Hold, elin: &str| hold.plan.puts.iter().any(|(e, _)| e == elin);
        self.down.gate.holds().any(|(other, hold)| {
            other != id
                && hold.sent.is_some()
                && mine.plan.puts.iter().any(|(elin, _)| writes(hold, elin))
        })
    }

    /// Decides again, and sends, the blocked decisions whose ELIN is no longer being
    /// written by an earlier one.
    fn unblock(&mut self) {
        for id in self.down.gate.ids() {
            let blocked = self.down.gate.hold_mut(id).is_some_and(|h| h.blocked);
            if !blocked || self.writes_in_flight(id) {
                continue;
            }
            match self.decide_again(id) {
                Again::Final => self.settle(id, Settled::Confirmed),
                Again::Sent => {}
                Again::Unsent => self.settle(
                    id,
                    Settled::Degraded("callback store (etcd) could not be asked".to_owned()),
                ),
            }
        }
    }

    /// Decides held message `id` again, on the mirror as the answers so far left it. A
    /// decision that still needs etcd writes its mappings into the mirror and is sent,
    /// or blocked behind a neighbour writing the same ELIN.
    fn decide_again(&mut self, id: HoldId) -> Again {
        let Some(config) = self.config.clone() else {
            return Again::Unsent;
        };
        let now_ns = host::now_nanos();
        let engine = active::for_message(&config.trusted_keys, now_ns);
        let peer = self.down.peer;
        let Some(hold) = self.down.gate.hold_mut(id) else {
            return Again::Unsent;
        };
        hold.blocked = false;
        match judge(
            engine.as_deref(),
            &hold.message,
            peer,
            now_ns / NANOS,
            &config,
        ) {
            Judged::Final(verdict) => {
                hold.verdict = verdict;
                return Again::Final;
            }
            Judged::Waits(verdict, plan) => {
                plan.tentative(&HostShared);
                (hold.verdict, hold.plan) = (verdict, plan);
            }
        }
        if self.writes_in_flight(id) {
            if let Some(hold) = self.down.gate.hold_mut(id) {
                hold.blocked = true;
            }
            return Again::Sent;
        }
        if self.send(id) {
            Again::Sent
        } else {
            Again::Unsent
        }
    }

    /// Settles decision `id` from an answer; what the gate can now release goes into
    /// Envoy's buffer and the connection resumes.
    fn settle_and_resume(&mut self, id: HoldId, settled: Settled) {
        self.settle(id, settled);
        self.unblock();
        let out = self.down.gate.ready();
        if out.is_empty() {
            return;
        }
        replace(BufferType::DownstreamData, 0, &out);
        if host::resume_downstream().is_err() {
            metrics::count(metrics::HOST_ERRORS);
            host::log(
                LogLevel::Critical,
                "e911: Envoy refused to resume a connection after its decision",
            );
        }
    }

    /// Finishes decision `id`: its effects, and its bytes in its place in the gate.
    fn settle(&mut self, id: HoldId, settled: Settled) {
        let (Some(config), Some(hold)) = (self.config.clone(), self.down.gate.take(id)) else {
            return;
        };
        if let Some(sent) = hold.sent {
            self.late.push(sent.token);
        }
        let waited_us = host::now_nanos().saturating_sub(hold.started_ns) / 1000;
        metrics::histogram(metrics::ETCD_WAIT_US, waited_us);
        let mut verdict = hold.verdict;
        if let Settled::Degraded(why) = settled {
            metrics::count(metrics::ETCD_DEGRADED);
            hold.plan.unanswered(&HostShared);
            verdict.degrade(format!(
                "{why}; decided on this proxy's copy, the mapping is written when etcd answers"
            ));
        }
        let decided = finish(verdict, &config).unwrap_or(hold.message);
        self.down.gate.fill(id, decided);
    }

    /// Sends decision `id`'s transaction within what is left of its wait; false when it
    /// cannot be sent (no time left, too many tries, Envoy refused).
    fn send(&mut self, id: HoldId) -> bool {
        let (Some(config), Some(keys)) = (self.config.clone(), &self.keys) else {
            return false;
        };
        let Some(etcd) = &config.etcd else {
            return false;
        };
        let Some(hold) = self.down.gate.hold_mut(id) else {
            return false;
        };
        let left = hold.deadline_ns.saturating_sub(host::now_nanos());
        if left < MIN_TRY_NS || hold.sends >= MAX_SENDS {
            return false;
        }
        let until = hold
            .plan
            .puts
            .iter()
            .map(|(_, entry)| entry.expires_at)
            .max()
            .unwrap_or(0)
            .saturating_add(u64::from(etcd.grace_seconds));
        let lease = lease_for(&HostShared, until);
        if lease == 0 && !hold.plan.puts.is_empty() {
            metrics::count(metrics::ETCD_UNLEASED);
        }
        let body = hold.plan.request(keys, lease);
        hold.sends += 1;
        hold.sent = send_within(etcd, wire::TXN, &body, Duration::from_nanos(left));
        hold.sent.is_some()
    }

    /// etcd's answer to decision `id`'s transaction.
    fn answered(&mut self, id: HoldId, etcd: &EtcdStore, body_size: usize) {
        let Some(keys) = self.keys.clone() else {
            return;
        };
        let answer = answer(body_size)
            .and_then(|body| wire::txn_answer(&body).map_err(|why| why.to_string()));
        let Some(hold) = self.down.gate.hold_mut(id) else {
            return;
        };
        if let Some(sent) = hold.sent.take() {
            member_answered(etcd, sent, answer.is_ok());
        }
        let answer = match answer {
            Ok(answer) => answer,
            Err(why) => {
                metrics::count(metrics::ETCD_FAILURES);
                let sends = hold.sends;
                // Another member, while the wait lasts.
                if !self.send(id) {
                    let why = format!(
                        "callback store (etcd) did not answer ({sends} requests, the last: {why})"
                    );
                    self.settle_and_resume(id, Settled::Degraded(why));
                }
                return;
            }
        };
        if hold.plan.answered(&HostShared, &keys, &answer) == Confirmed::Yes {
            self.settle_and_resume(id, Settled::Confirmed);
            return;
        }
        // Another proxy wrote first; the mirror now has what it wrote: decide again.
        metrics::count(metrics::ETCD_LOST_RACES);
        if hold.tries >= TRIES {
            let why = format!(
                "other proxies took the ELIN this call chose {TRIES} times; forwarded with the last choice"
            );
            self.settle_and_resume(id, Settled::Degraded(why));
            return;
        }
        hold.tries += 1;
        match self.decide_again(id) {
            Again::Final => self.settle_and_resume(id, Settled::Confirmed),
            Again::Sent => {}
            Again::Unsent => {
                let why = format!(
                    "callback store (etcd): no time left to confirm after losing a race ({} ms wait)",
                    etcd.wait_ms
                );
                self.settle_and_resume(id, Settled::Degraded(why));
            }
        }
    }
}

impl Hold {
    fn new(message: &[u8], verdict: Verdict, plan: Plan, now_ns: u64, config: &Config) -> Self {
        let wait_ms = config.etcd.as_ref().map_or(0, |e| u64::from(e.wait_ms));
        Self {
            message: message.to_vec(),
            verdict,
            plan,
            tries: 1,
            sends: 0,
            sent: None,
            blocked: false,
            started_ns: now_ns,
            deadline_ns: now_ns + wait_ms * 1_000_000,
        }
    }
}

/// A decision on the upstream side, which cannot wait: it stands on the mirror, and its
/// mappings are written behind it by the root's sync.
fn write_behind(mut verdict: Verdict, plan: &Plan) -> Verdict {
    if !plan.puts.is_empty() {
        plan.unanswered(&HostShared);
        verdict.report.trace.push(
            "callback store (etcd): decided on this proxy's copy (a connection's upstream side cannot wait); the mapping is written behind it"
                .to_owned(),
        );
    }
    verdict
}

/// Replaces a whole buffer of `size` bytes (0: puts `out` in front of what is there).
fn replace(buffer: BufferType, size: usize, out: &[u8]) {
    if host::replace_buffer(buffer, size, out).is_err() {
        metrics::count(metrics::HOST_ERRORS);
        host::log(
            LogLevel::Critical,
            "e911: Envoy refused the buffer replacement; the data was forwarded as received",
        );
    }
}

/// Counts and logs the runs of unframed bytes one feed met.
fn report_unframed(fed: &Fed, downstream: bool, peer: Option<IpAddr>, limits: &Limits) {
    for reason in &fed.unframed {
        let (metric, why) = match reason {
            Unframed::Oversize => (
                metrics::OVERSIZE,
                format!("a message over {} bytes", limits.max_message_bytes),
            ),
            Unframed::Unframeable => (metrics::UNFRAMED, "bytes that are not SIP".to_owned()),
        };
        metrics::count(metric);
        host::log(
            LogLevel::Warn,
            &format!(
                "e911: {} data of a connection from {} carries {why}: passed as received; framing resumes at the next message",
                if downstream { "downstream" } else { "upstream" },
                peer.map_or_else(|| "?".to_owned(), |p| p.to_string())
            ),
        );
    }
}

impl Context for Stream {
    fn on_http_call_response(&mut self, token: u32, _headers: usize, body: usize, _: usize) {
        if let Some(at) = self.late.iter().position(|t| *t == token) {
            // A decision that stopped waiting: its mapping is already pending.
            self.late.swap_remove(at);
            return;
        }
        let etcd = self.config.clone();
        if let Some(etcd) = etcd.as_ref().and_then(|c| c.etcd.as_ref())
            && let Some(id) = self
                .down
                .gate
                .find(|h| h.sent.is_some_and(|s| s.token == token))
        {
            self.answered(id, etcd, body);
            return;
        }
        notification_answered();
    }
}

impl StreamContext for Stream {
    fn on_downstream_data(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.on_data(true, size, end_of_stream)
    }

    fn on_upstream_data(&mut self, size: usize, end_of_stream: bool) -> Action {
        self.on_data(false, size, end_of_stream)
    }

    fn on_downstream_close(&mut self, _peer: PeerType) {}
}
