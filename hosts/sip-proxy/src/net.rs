//! Sockets: UDP listeners (one datagram, one message), TCP listeners and connections
//! (framed with `e911_sip::StreamFramer`, partial tails kept, never closed for what a peer sent, long-lived, many calls each), one
//! reused TCP connection per upstream, and the path of one message through the proxy.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use e911_engine::{
    CallCtx, ENGINE_LIMITS, Kind, Output, RouteKind, RouteReport, Transport, Verdict,
};
use e911_sip::{Piece, StreamFramer, Unframed};

use super::Listen;
use super::effects::Effects;
use super::failover::{self, Failover, Leg, Step};
use super::hop::{self, Proto};
use super::lock;
use super::reload::Slot;
use super::route::{Routes, Upstream};

/// RFC 3261 §18.1.1: a request within 200 bytes of the path MTU (1500) goes over a
/// congestion-controlled transport when one is available.
const UDP_LIMIT: usize = 1300;
/// How long a transaction's origin is remembered (64 × T1, RFC 3261 §17.1.1.2).
const TRANSACTION_TTL: Duration = Duration::from_secs(32);
/// How long a TCP connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one write may block on a peer that does not read.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);
/// How often silent trunks are looked for.
const FAILOVER_TICK: Duration = Duration::from_millis(50);
/// How long a dialog's upstream is remembered without a BYE.
const DIALOG_TTL: Duration = Duration::from_secs(3600);

/// Where a request came from: responses go back there.
#[derive(Debug, Clone, Copy)]
pub enum Origin {
    Udp(SocketAddr),
    Tcp(u64),
}

/// An INVITE as forwarded: upstream, leg, bytes, when.
type SentInvite = (Upstream, Proto, Arc<Vec<u8>>, Instant);

/// The proxy's shared state.
pub struct Proxy {
    udp: Option<UdpSocket>,
    tcp: Option<TcpListener>,
    routes: Routes,
    decider: Slot,
    effects: Effects,
    node: String,
    /// Our branch → where its request came from.
    transactions: Mutex<HashMap<String, (Origin, Instant)>>,
    /// Our branch of an INVITE → what was forwarded, so a retransmission is sent again
    /// as it was, not decided again (a second decision could pick another ELIN).
    invites: Mutex<HashMap<String, SentInvite>>,
    /// Call-ID → the upstream its INVITE went to.
    dialogs: Mutex<HashMap<String, (Upstream, Instant)>>,
    /// Our base branch of an emergency INVITE with trunks to fail over to → its state.
    failovers: Mutex<HashMap<String, Arc<Mutex<Failover>>>>,
    /// How long a trunk may stay silent (no provisional response) before the next.
    failover_after: Duration,
    /// TCP connections by id, for writing.
    conns: Mutex<HashMap<u64, Arc<Mutex<TcpStream>>>>,
    /// Upstream address → its connection id.
    upstream_conns: Mutex<HashMap<SocketAddr, u64>>,
    next_conn: AtomicU64,
}

impl Proxy {
    /// Binds the listeners (at most one UDP and one TCP).
    pub fn bind(
        listens: &[Listen],
        routes: Routes,
        decider: Slot,
        effects: Effects,
        node: &str,
        failover_after: Duration,
    ) -> Result<Self> {
        let mut udp = None;
        let mut tcp = None;
        for listen in listens {
            match *listen {
                Listen::Udp(addr) if udp.is_none() => {
                    udp = Some(UdpSocket::bind(addr).with_context(|| format!("udp:{addr}"))?);
                }
                Listen::Tcp(addr) if tcp.is_none() => {
                    tcp = Some(TcpListener::bind(addr).with_context(|| format!("tcp:{addr}"))?);
                }
                _ => bail!("one --listen per transport"),
            }
        }
        Ok(Self {
            udp,
            tcp,
            routes,
            decider,
            effects,
            node: node.to_owned(),
            transactions: Mutex::new(HashMap::new()),
            invites: Mutex::new(HashMap::new()),
            dialogs: Mutex::new(HashMap::new()),
            failovers: Mutex::new(HashMap::new()),
            failover_after,
            conns: Mutex::new(HashMap::new()),
            upstream_conns: Mutex::new(HashMap::new()),
            next_conn: AtomicU64::new(1),
        })
    }

    /// One line per listener.
    pub fn describe(&self) -> Vec<String> {
        let udp = self.udp.as_ref().and_then(|s| s.local_addr().ok());
        let tcp = self.tcp.as_ref().and_then(|s| s.local_addr().ok());
        udp.map(|a| format!("e911-harness proxy: listening on udp:{a}"))
            .into_iter()
            .chain(tcp.map(|a| format!("e911-harness proxy: listening on tcp:{a}")))
            .collect()
    }

    /// The counters.
    pub fn metrics(&self) -> std::collections::BTreeMap<String, u64> {
        self.effects.metrics()
    }

    /// Appends one line of the proxy's own to the audit log.
    pub fn record(&self, record: &impl serde::Serialize) {
        self.effects.record(record);
    }

    /// Forgets old transactions and dialogs.
    pub fn prune(&self) {
        lock(&self.transactions).retain(|_, (_, at)| at.elapsed() < TRANSACTION_TTL);
        lock(&self.invites).retain(|_, (_, _, _, at)| at.elapsed() < TRANSACTION_TTL);
        lock(&self.dialogs).retain(|_, (_, at)| at.elapsed() < DIALOG_TTL);
        lock(&self.failovers).retain(|_, call| lock(call).age() < TRANSACTION_TTL);
    }

    /// The sent-by of our Via on a leg of `proto`.
    fn sent_by(&self, proto: Proto) -> Option<SocketAddr> {
        let udp = self.udp.as_ref().and_then(|s| s.local_addr().ok());
        let tcp = self.tcp.as_ref().and_then(|s| s.local_addr().ok());
        match proto {
            Proto::Udp => udp.or(tcp),
            Proto::Tcp => tcp.or(udp),
        }
    }

    /// One complete message from `peer`.
    fn on_message(self: &Arc<Self>, bytes: &[u8], peer: SocketAddr, origin: Origin, proto: Proto) {
        if bytes.starts_with(b"INVITE ") && self.retransmitted(bytes) {
            return;
        }
        let verdict = self.decide(bytes, peer, proto);
        if let Some(verdict) = &verdict {
            self.effects.apply(verdict);
        }
        let out = verdict.as_ref().map_or(bytes, |v| v.forwarded(bytes));
        if bytes.starts_with(b"SIP/2.0 ") {
            self.on_response(out);
        } else {
            self.on_request(bytes, out, verdict.as_ref(), peer, origin, proto);
        }
    }

    /// Sends an INVITE retransmission on as its first copy went; `false` for a new INVITE.
    fn retransmitted(self: &Arc<Self>, bytes: &[u8]) -> bool {
        let Ok(msg) = e911_sip::parse(bytes, &ENGINE_LIMITS) else {
            return false;
        };
        let branch = hop::branch_for(&msg);
        let Some((upstream, leg, sent)) = lock(&self.invites)
            .get(&branch)
            .map(|(u, l, b, _)| (*u, *l, Arc::clone(b)))
        else {
            return false;
        };
        self.effects.count("proxy.invite.retransmitted");
        if let Err(err) = self.send(upstream, leg, &sent) {
            eprintln!("e911-harness proxy: retransmission not forwarded: {err}");
        }
        true
    }

    fn decide(&self, bytes: &[u8], peer: SocketAddr, proto: Proto) -> Option<Verdict> {
        let slot = self.decider.as_ref()?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let ctx = CallCtx {
            now,
            peer: Some(peer.ip()),
            transport: match proto {
                Proto::Udp => Transport::Udp,
                Proto::Tcp => Transport::Tcp,
            },
            node: &self.node,
        };
        let verdict = slot.decide(bytes, &ctx);
        if verdict.is_none() {
            eprintln!(
                "e911-harness proxy: the decision failed (bundle revision {}); forwarding the message as received",
                slot.revision()
            );
            self.effects.count("proxy.decision.failed");
        }
        verdict
    }

    fn on_response(self: &Arc<Self>, bytes: &[u8]) {
        let response = match hop::relay_response(bytes) {
            Ok(response) => response,
            Err(err) => {
                eprintln!("e911-harness proxy: response dropped: {err}");
                self.effects.count("proxy.response.dropped");
                return;
            }
        };
        let (base, attempt) = hop::split_branch(&response.branch);
        let failover = lock(&self.failovers).get(base).cloned();
        if let Some(call) = failover
            && !self.on_trunk_response(base, &call, attempt, &response, bytes)
        {
            return;
        }
        let origin = lock(&self.transactions)
            .get(&response.branch)
            .map(|(origin, _)| *origin);
        let sent = match (origin, response.next_hop) {
            (Some(Origin::Tcp(id)), _) => self.send_on(id, &response.bytes),
            (Some(Origin::Udp(addr)), _) | (None, Some(addr)) => {
                self.send_udp(addr, &response.bytes)
            }
            (None, None) => Err("no next hop".to_owned()),
        };
        if let Err(err) = sent {
            eprintln!("e911-harness proxy: response not relayed: {err}");
        }
    }

    fn on_request(
        self: &Arc<Self>,
        received: &[u8],
        out: &[u8],
        verdict: Option<&Verdict>,
        peer: SocketAddr,
        origin: Origin,
        proto: Proto,
    ) {
        // The plugin could not decide (the decision failed, or the component trapped and
        // passed the message unchanged, degraded): an emergency call by the policy's own
        // numbers still goes on the emergency route, unchanged (to --failsafe-upstream).
        let undecided =
            verdict.is_none_or(|v| v.report.kind == Kind::None && v.report.degraded.is_some());
        let failsafe = undecided.then(|| self.failsafe_for(received)).flatten();
        let is_call = verdict.is_some_and(|v| v.report.kind != Kind::None) || failsafe.is_some();
        let dialog = || {
            let call_id = e911_sip::parse(out, &ENGINE_LIMITS)
                .ok()
                .map(|m| hop::call_id(&m))?;
            lock(&self.dialogs).get(&call_id).map(|(up, _)| *up)
        };
        let mut upstream = match (verdict.and_then(|v| v.report.route.as_ref()), failsafe) {
            (Some(route), _) => self.routes.for_route(Some(route)),
            (None, Some(failsafe)) => {
                eprintln!(
                    "e911-harness proxy: emergency call relayed unchanged to the fail-safe upstream {}",
                    failsafe.addr
                );
                self.effects.count("proxy.failsafe");
                failsafe
            }
            (None, None) => dialog().unwrap_or(self.routes.default),
        };
        let mut leg = upstream.proto.unwrap_or(proto);
        let Some(sent_by) = self.sent_by(leg) else {
            return;
        };
        let request = match hop::forward_request(out, peer, leg, sent_by, 0) {
            Ok(request) => request,
            Err(err) => {
                // Never drop a call because of our code: send what came in, as it came, to
                // the upstream its route chose (an emergency call's trunk).
                eprintln!("e911-harness proxy: {err}; forwarding the message as received");
                self.effects.count("proxy.forward.unedited");
                let _ = self.send(upstream, leg, received);
                return;
            }
        };
        if request.exhausted && !is_call {
            if let Some(reply) = hop::too_many_hops(received) {
                let _ = self.reply(origin, &reply);
            }
            return;
        }
        if let Some(call) = lock(&self.failovers).get(&request.branch).cloned() {
            self.on_caller_request(&call, &request, received, out, origin);
            return;
        }
        if request.is_invite
            && let Some(verdict) = verdict
            && !verdict.alternates.is_empty()
            && let Some(route) = &verdict.report.route
        {
            self.start_failover(&request, received, out, verdict, route, peer, origin, proto);
            return;
        }
        let mut request = request;
        if leg == Proto::Udp
            && request.bytes.len() > UDP_LIMIT
            && let Some(large) = self.routes.large
            && large.proto == Some(Proto::Tcp)
            && let Some(sent_by) = self.sent_by(Proto::Tcp)
            && let Ok(over_tcp) = hop::forward_request(out, peer, Proto::Tcp, sent_by, 0)
        {
            upstream = large;
            leg = Proto::Tcp;
            request = over_tcp;
        }
        lock(&self.transactions).insert(request.branch.clone(), (origin, Instant::now()));
        if request.is_invite {
            // In-dialog requests (ACK, BYE and their retransmissions) follow the INVITE;
            // the entry ages out (DIALOG_TTL) rather than going with the first BYE.
            lock(&self.dialogs).insert(request.call_id.clone(), (upstream, Instant::now()));
            let sent = Arc::new(request.bytes.clone());
            lock(&self.invites).insert(
                request.branch.clone(),
                (upstream, leg, sent, Instant::now()),
            );
        }
        if let Err(err) = self.send(upstream, leg, &request.bytes) {
            eprintln!(
                "e911-harness proxy: request not forwarded to {}: {err}",
                upstream.addr
            );
            self.effects.count("proxy.forward.failed");
        }
    }

    /// An emergency INVITE whose verdict lists trunks to fail over to: the proxy keeps
    /// its transaction ([`Failover`]) and sends it to the first trunk.
    #[allow(clippy::too_many_arguments)]
    fn start_failover(
        self: &Arc<Self>,
        first: &hop::Request,
        received: &[u8],
        out: &[u8],
        verdict: &Verdict,
        route: &RouteReport,
        peer: SocketAddr,
        origin: Origin,
        proto: Proto,
    ) {
        let leg = |trunk: &str, id: &str, kind: RouteKind, message: &[u8]| Leg {
            trunk: trunk.to_owned(),
            route: id.to_owned(),
            kind,
            upstream: self.routes.for_trunk(trunk, kind),
            message: Arc::new(message.to_vec()),
        };
        let legs = std::iter::once(leg(&route.trunk, &route.id, route.kind, out))
            .chain(verdict.alternates.iter().map(|a| {
                let message = match &a.output {
                    Output::Rewritten(bytes) => bytes.as_slice(),
                    Output::Unchanged => received,
                };
                leg(&a.trunk, &a.route, a.kind, message)
            }))
            .collect();
        let call = Failover::new(
            first.call_id.clone(),
            origin,
            peer,
            proto,
            Arc::new(received.to_vec()),
            legs,
        );
        let call = Arc::new(Mutex::new(call));
        lock(&self.failovers).insert(first.branch.clone(), Arc::clone(&call));
        self.try_trunk(&first.branch, &mut lock(&call));
    }

    /// Sends the call to the trunk now current, moving on while a trunk cannot be sent to.
    /// When none is left, the caller gets a 503 of ours.
    fn try_trunk(self: &Arc<Self>, base: &str, call: &mut Failover) {
        while let Some((n, leg)) = call.current() {
            let leg = leg.clone();
            let Err(err) = self.send_attempt(base, call, n, &leg) else {
                return;
            };
            self.effects.count("proxy.forward.failed");
            if !self.fail_over(call, &format!("not sent: {err}")) {
                if let Some(reply) = hop::reply(&call.received, "503 Service Unavailable") {
                    let _ = self.reply(call.caller, &reply);
                }
                call.end();
                return;
            }
        }
    }

    /// Sends attempt `n` (our Via with the attempt's branch) and remembers it: responses
    /// on its branch go to the caller, the caller's retransmissions and in-dialog
    /// requests follow it.
    fn send_attempt(
        self: &Arc<Self>,
        base: &str,
        call: &mut Failover,
        n: usize,
        leg: &Leg,
    ) -> Result<(), String> {
        let mut upstream = leg.upstream;
        let mut proto = upstream.proto.unwrap_or(call.proto);
        let sent_by = self.sent_by(proto).ok_or("no listener for the transport")?;
        let mut request = hop::forward_request(&leg.message, call.source, proto, sent_by, n)?;
        if proto == Proto::Udp
            && request.bytes.len() > UDP_LIMIT
            && let Some(large) = self.routes.large
            && large.proto == Some(Proto::Tcp)
            && let Some(sent_by) = self.sent_by(Proto::Tcp)
        {
            request = hop::forward_request(&leg.message, call.source, Proto::Tcp, sent_by, n)?;
            (upstream, proto) = (large, Proto::Tcp);
        }
        let now = Instant::now();
        lock(&self.transactions).insert(request.branch.clone(), (call.caller, now));
        lock(&self.dialogs).insert(call.call_id.clone(), (upstream, now));
        let bytes = Arc::new(request.bytes);
        lock(&self.invites).insert(base.to_owned(), (upstream, proto, Arc::clone(&bytes), now));
        call.sent(upstream, proto, Arc::clone(&bytes));
        self.send(upstream, proto, &bytes)
    }

    /// Leaves the trunk now trying, with an audit line naming it and why; `false` when
    /// no trunk is left.
    fn fail_over(&self, call: &mut Failover, why: &str) -> bool {
        self.fail_over_because(call, why, None)
    }

    /// [`Self::fail_over`], with what the trunk said about the location (a 424's
    /// `Geolocation-Error`) in the audit event.
    fn fail_over_because(
        &self,
        call: &mut Failover,
        why: &str,
        geolocation_error: Option<&str>,
    ) -> bool {
        let from = call.current().map(|(_, leg)| leg.trunk.clone());
        let next = call.advance().map(|(_, leg)| leg.trunk.clone());
        eprintln!(
            "e911-harness proxy: call {}: trunk {} failed ({why}); {}",
            call.call_id,
            from.as_deref().unwrap_or("?"),
            next.as_deref()
                .map_or("no trunk left".to_owned(), |n| format!("trying {n}"))
        );
        let mut event = serde_json::json!({
            "event": "failover",
            "call_id": call.call_id,
            "trunk": from,
            "why": why,
            "next": next,
        });
        if let (Some(error), Some(fields)) = (geolocation_error, event.as_object_mut()) {
            fields.insert("geolocation_error".to_owned(), error.into());
        }
        self.effects.record(&event);
        self.effects.count(if next.is_some() {
            "proxy.failover"
        } else {
            "proxy.failover.exhausted"
        });
        next.is_some()
    }

    /// A response on one of a failover call's branches; `true` to relay it to the caller.
    fn on_trunk_response(
        self: &Arc<Self>,
        base: &str,
        call: &Mutex<Failover>,
        attempt: usize,
        response: &hop::Response,
        raw: &[u8],
    ) -> bool {
        match response.cseq_method.as_str() {
            "INVITE" => {}
            // We answered the caller's CANCEL ourselves (§16.10).
            "CANCEL" => return false,
            _ => return true,
        }
        let mut call = lock(call);
        let sent = call.sent_to(attempt).cloned();
        if response.status >= 300
            && let Some((upstream, proto, invite)) = &sent
            && let Some(ack) = hop::ack_for(invite, raw)
        {
            let _ = self.send(*upstream, *proto, &ack);
        }
        match call.on_response(attempt, response.status) {
            Step::Relay => {
                if (200..300).contains(&response.status)
                    && let Some((upstream, _, _)) = sent
                {
                    lock(&self.dialogs).insert(call.call_id.clone(), (upstream, Instant::now()));
                }
                true
            }
            Step::Absorb => false,
            Step::CancelNow => {
                self.cancel_current(&call);
                true
            }
            Step::Next { why } => {
                // RFC 6442 §4.3/§4.4: a 424 says what was wrong with the location in
                // Geolocation-Error; the audit event keeps it beside our reason.
                let error = (response.status == failover::BAD_LOCATION)
                    .then(|| hop::quoted_header(raw, b"geolocation-error"))
                    .flatten();
                if self.fail_over_because(&mut call, &why, error.as_deref()) {
                    self.try_trunk(base, &mut call);
                }
                false
            }
        }
    }

    /// The caller's CANCEL or ACK on a failover call's branch.
    fn on_caller_request(
        self: &Arc<Self>,
        call: &Mutex<Failover>,
        request: &hop::Request,
        received: &[u8],
        out: &[u8],
        origin: Origin,
    ) {
        let mut call = lock(call);
        match request.method.as_str() {
            "CANCEL" => {
                if let Some(ok) = hop::reply(received, "200 OK") {
                    let _ = self.reply(origin, &ok);
                }
                if call.cancel() {
                    self.cancel_current(&call);
                }
            }
            // The ACK with the INVITE's branch after a 2xx (RFC 2543 style): on to the
            // trunk that answered.
            "ACK" if call.answered() => {
                if let Some((upstream, proto, _)) =
                    call.current().and_then(|(n, _)| call.sent_to(n))
                {
                    let _ = self.send(*upstream, *proto, out);
                }
            }
            // The ACK of a final response we relayed (every trunk's non-2xx was
            // acknowledged here already, §17.1.1.3), or an INVITE retransmission, which
            // `retransmitted` has sent on.
            _ => {}
        }
    }

    /// Sends the CANCEL of the INVITE the current trunk has (§9.1).
    fn cancel_current(self: &Arc<Self>, call: &Failover) {
        if let Some((upstream, proto, invite)) = call.current().and_then(|(n, _)| call.sent_to(n))
            && let Some(cancel) = hop::cancel_for(invite)
        {
            let _ = self.send(*upstream, *proto, &cancel);
        }
    }

    /// Moves every failover call whose trunk has been silent too long on to the next, and
    /// ends a cancelled one whose trunk never answered with a 487 of ours.
    pub fn fail_over_silent(self: &Arc<Self>) {
        let calls: Vec<(String, Arc<Mutex<Failover>>)> = lock(&self.failovers)
            .iter()
            .map(|(base, call)| (base.clone(), Arc::clone(call)))
            .collect();
        for (base, call) in calls {
            let mut call = lock(&call);
            if !call.silent(self.failover_after) {
                continue;
            }
            if call.cancelled() {
                if let Some(reply) = hop::reply(&call.received, "487 Request Terminated") {
                    let _ = self.reply(call.caller, &reply);
                }
                call.end();
            } else {
                let why = format!(
                    "no provisional response in {} ms",
                    self.failover_after.as_millis()
                );
                if self.fail_over(&mut call, &why) {
                    self.try_trunk(&base, &mut call);
                }
            }
        }
    }

    fn reply(self: &Arc<Self>, origin: Origin, bytes: &[u8]) -> Result<(), String> {
        match origin {
            Origin::Udp(addr) => self.send_udp(addr, bytes),
            Origin::Tcp(id) => self.send_on(id, bytes),
        }
    }

    fn send(self: &Arc<Self>, upstream: Upstream, leg: Proto, bytes: &[u8]) -> Result<(), String> {
        match leg {
            Proto::Udp => self.send_udp(upstream.addr, bytes),
            Proto::Tcp => self.send_tcp(upstream.addr, bytes),
        }
    }

    fn send_udp(&self, addr: SocketAddr, bytes: &[u8]) -> Result<(), String> {
        let socket = self.udp.as_ref().ok_or("no UDP listener to send from")?;
        socket
            .send_to(bytes, addr)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn send_on(&self, id: u64, bytes: &[u8]) -> Result<(), String> {
        let conn = lock(&self.conns)
            .get(&id)
            .cloned()
            .ok_or("connection closed")?;
        let mut stream = lock(&conn);
        stream.write_all(bytes).map_err(|e| e.to_string())
    }

    /// Sends on the upstream's connection, connecting (once more after a failed write)
    /// when there is none.
    fn send_tcp(self: &Arc<Self>, addr: SocketAddr, bytes: &[u8]) -> Result<(), String> {
        for _ in 0..2 {
            let id = lock(&self.upstream_conns).get(&addr).copied();
            let id = match id {
                Some(id) => id,
                None => self.connect(addr)?,
            };
            match self.send_on(id, bytes) {
                Ok(()) => return Ok(()),
                Err(_) => {
                    lock(&self.upstream_conns).remove(&addr);
                    lock(&self.conns).remove(&id);
                }
            }
        }
        Err(format!("cannot send to tcp:{addr}"))
    }

    fn connect(self: &Arc<Self>, addr: SocketAddr) -> Result<u64, String> {
        let stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
            .map_err(|e| format!("connect tcp:{addr}: {e}"))?;
        let _ = stream.set_nodelay(true);
        let id = self.register(&stream)?;
        lock(&self.upstream_conns).insert(addr, id);
        let proxy = Arc::clone(self);
        std::thread::Builder::new()
            .name(format!("tcp-up-{addr}"))
            .spawn(move || proxy.read_tcp(stream, id, addr, true))
            .map_err(|e| e.to_string())?;
        Ok(id)
    }

    fn register(&self, stream: &TcpStream) -> Result<u64, String> {
        let writer = stream.try_clone().map_err(|e| e.to_string())?;
        // A peer that stops reading must not hold the thread writing to it (and every
        // call that thread carries): the write fails and the call goes elsewhere.
        writer
            .set_write_timeout(Some(WRITE_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let id = self.next_conn.fetch_add(1, Ordering::Relaxed);
        lock(&self.conns).insert(id, Arc::new(Mutex::new(writer)));
        Ok(id)
    }

    /// Reads one TCP connection until it closes, framing messages out of the stream with
    /// the framer every host uses. What cannot be framed never closes the connection: on
    /// a caller's connection it goes on as received to the default upstream (an
    /// emergency INVITE too large to read: to the fail-safe one), over a connection of
    /// its own (so it cannot land inside another caller's message), and framing resumes
    /// at the next message; from an upstream it is dropped (there is no transaction to
    /// relay it to).
    fn read_tcp(self: Arc<Self>, mut stream: TcpStream, id: u64, peer: SocketAddr, upstream: bool) {
        let mut framer = StreamFramer::default();
        let mut passthrough: Option<(Upstream, TcpStream)> = None;
        // Where the run of unframed bytes under way goes: an emergency INVITE too large
        // to read goes to the fail-safe upstream, anything else to the default one.
        let mut run_to = self.routes.default;
        let mut chunk = vec![0u8; 64 * 1024];
        loop {
            let (n, end) = match stream.read(&mut chunk) {
                Ok(0) | Err(_) => (0, true),
                Ok(n) => (n, false),
            };
            let data = chunk.get(..n).unwrap_or_default();
            framer.feed(data, end, &ENGINE_LIMITS, |piece| match piece {
                Piece::Message(msg) => self.on_message(msg, peer, Origin::Tcp(id), Proto::Tcp),
                Piece::KeepAlive(_) => {}
                Piece::Unframed { bytes, why, starts } => {
                    if starts {
                        let failsafe = (why == Unframed::Oversize)
                            .then(|| self.failsafe_for(bytes))
                            .flatten();
                        run_to = failsafe.unwrap_or(self.routes.default);
                        eprintln!(
                            "e911-harness proxy: tcp:{peer}: {}; passed as received to {}, framing resumes at the next message",
                            match (why, failsafe) {
                                (Unframed::Oversize, Some(_)) =>
                                    "an emergency INVITE over the size limit",
                                (Unframed::Oversize, None) => "a message over the size limit",
                                (Unframed::Unframeable, _) => "bytes that do not frame as SIP",
                            },
                            if failsafe.is_some() {
                                "the fail-safe upstream"
                            } else {
                                "the default upstream"
                            }
                        );
                        self.effects.count("proxy.unframed");
                    }
                    if upstream || !self.pass_unframed(&mut passthrough, run_to, bytes) {
                        self.effects.count("proxy.unframed.dropped");
                    }
                }
            });
            if end {
                break;
            }
        }
        lock(&self.conns).remove(&id);
        lock(&self.upstream_conns).retain(|_, conn| *conn != id);
    }

    /// Writes unframed bytes from a caller to `upstream` on `conn`, connecting it first
    /// (again, when `conn` goes elsewhere); `false` when they could not go (a UDP
    /// upstream, or no answer).
    fn pass_unframed(
        &self,
        conn: &mut Option<(Upstream, TcpStream)>,
        upstream: Upstream,
        bytes: &[u8],
    ) -> bool {
        if upstream.proto == Some(Proto::Udp) {
            return false;
        }
        if conn.as_ref().is_none_or(|(to, _)| *to != upstream) {
            *conn = TcpStream::connect_timeout(&upstream.addr, CONNECT_TIMEOUT)
                .ok()
                .filter(|s| s.set_write_timeout(Some(WRITE_TIMEOUT)).is_ok())
                .map(|s| (upstream, s));
        }
        let Some((_, stream)) = conn else {
            return false;
        };
        let sent = stream.write_all(bytes).is_ok();
        if !sent {
            *conn = None;
        }
        sent
    }

    /// `--failsafe-upstream`, when `bytes` start an emergency INVITE by the policy's
    /// numbers (the plugin could not decide it).
    fn failsafe_for(&self, bytes: &[u8]) -> Option<Upstream> {
        let pool = self.decider.as_ref()?;
        self.routes
            .failsafe
            .filter(|_| pool.emergency_invite(bytes))
    }

    fn serve_udp(self: Arc<Self>) {
        let Some(socket) = &self.udp else { return };
        let mut buf = vec![0u8; 65_535];
        loop {
            match socket.recv_from(&mut buf) {
                Ok((n, peer)) => {
                    let Some(msg) = buf.get(..n) else { continue };
                    // Keep-alives (RFC 5626 §4.4.1 CRLF pings) are not messages.
                    if msg.iter().all(|b| b.is_ascii_whitespace()) {
                        continue;
                    }
                    self.on_message(msg, peer, Origin::Udp(peer), Proto::Udp);
                }
                Err(err) => eprintln!("e911-harness proxy: udp receive: {err}"),
            }
        }
    }

    fn serve_tcp(self: Arc<Self>) {
        let Some(listener) = &self.tcp else { return };
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let Ok(peer) = stream.peer_addr() else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            let Ok(id) = self.register(&stream) else {
                continue;
            };
            let proxy = Arc::clone(&self);
            let spawned = std::thread::Builder::new()
                .name(format!("tcp-{peer}"))
                .spawn(move || proxy.read_tcp(stream, id, peer, false));
            if let Err(err) = spawned {
                eprintln!("e911-harness proxy: tcp:{peer}: no thread: {err}");
                lock(&self.conns).remove(&id);
            }
        }
    }
}

/// Starts the listener threads.
pub fn start(proxy: &Arc<Proxy>) -> Result<()> {
    if proxy.udp.is_some() {
        let p = Arc::clone(proxy);
        std::thread::Builder::new()
            .name("udp".to_owned())
            .spawn(move || p.serve_udp())?;
    }
    if proxy.tcp.is_some() {
        let p = Arc::clone(proxy);
        std::thread::Builder::new()
            .name("tcp-accept".to_owned())
            .spawn(move || p.serve_tcp())?;
    }
    let p = Arc::clone(proxy);
    std::thread::Builder::new()
        .name("failover".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(FAILOVER_TICK);
                p.fail_over_silent();
            }
        })?;
    Ok(())
}
