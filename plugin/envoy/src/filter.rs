//! The proxy-wasm contexts: [`Root`] (configuration, bundle source, HTTP poll) and
//! [`Stream`] (one TCP connection, both directions). Translation only: framing is
//! [`crate::framer`], decisions are [`e911_engine::Engine::on_message`].

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

use e911_engine::{CallCtx, Engine, Output, Transport, Verdict};
use e911_sip::Limits;
use proxy_wasm::traits::{Context, RootContext, StreamContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, PeerType};

use crate::active::{self, HostShared};
use crate::addresses::{parse_peer, split_webhook_url};
use crate::config::{BundleSource, Config};
use crate::framer::Direction;
use crate::shared::{SharedCallbacks, claim_poller};
use crate::{host, metrics};
use e911_sip::Unframed;

const NANOS: u64 = 1_000_000_000;

/// The root context: one per worker and plugin configuration.
pub struct Root {
    holder: String,
    config: Option<Rc<Config>>,
    etag: Option<String>,
    poll_token: Option<u32>,
    next_poll_ns: u64,
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
        } else {
            notification_answered();
        }
    }
}

impl RootContext for Root {
    fn on_configure(&mut self, size: usize) -> bool {
        metrics::predefine();
        let json = host::buffer(BufferType::PluginConfiguration, size);
        let config = match Config::parse(&json) {
            Ok(config) => config,
            Err(why) => {
                metrics::count(metrics::RELOAD_FAILURES);
                host::log(LogLevel::Error, &format!("e911: {why}"));
                return false;
            }
        };
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
            BundleSource::Http(_) => {
                // Tick every second: the poller's lease and the first poll come soon;
                // polls themselves follow poll_seconds.
                if let Err(status) = host::set_tick(Duration::from_secs(1)) {
                    host::log(
                        LogLevel::Error,
                        &format!("e911: cannot set a tick for the bundle poll ({status:?})"),
                    );
                    return false;
                }
            }
        }
        self.config = Some(Rc::new(config));
        true
    }

    fn on_tick(&mut self) {
        let Some(config) = self.config.clone() else {
            return;
        };
        if let BundleSource::Http(http) = &config.bundle {
            let now = host::now_nanos();
            if now >= self.next_poll_ns {
                self.poll(http, now);
            }
            // Load a bundle another worker's poll published now, within a tick, so the
            // first message after it does not wait for a large bundle to load.
            let _ = active::current(&config.trusted_keys);
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
}

impl Side {
    fn new(buffer: BufferType, property: &'static str) -> Self {
        Self {
            buffer,
            property,
            peer: None,
            direction: Direction::default(),
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

/// One TCP connection through the filter.
pub struct Stream {
    config: Option<Rc<Config>>,
    limits: Limits,
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
        if size == 0 && side.direction.pending() == 0 {
            return Action::Continue;
        }
        let data = host::buffer(side.buffer, size);
        if data.len() != size {
            // The host would not give the bytes: leave its buffer alone (it is forwarded
            // as it is) and stop framing this direction rather than reorder bytes.
            metrics::count(metrics::HOST_ERRORS);
            return Action::Continue;
        }
        let now_ns = host::now_nanos();
        let engine = active::for_message(&config.trusted_keys, now_ns);
        let peer = side.peer();
        let now = now_ns / NANOS;
        let fed = side
            .direction
            .feed(&data, end_of_stream, &self.limits, |message| {
                decide(engine.as_deref(), message, peer, now, &config)
            });
        for reason in fed.unframed {
            let (metric, why) = match reason {
                Unframed::Oversize => (
                    metrics::OVERSIZE,
                    format!("a message over {} bytes", self.limits.max_message_bytes),
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
        if let Some(out) = &fed.replacement
            && host::replace_buffer(side.buffer, size, out).is_err()
        {
            metrics::count(metrics::HOST_ERRORS);
            host::log(
                LogLevel::Critical,
                "e911: Envoy refused the buffer replacement; the data was forwarded as received",
            );
        }
        Action::Continue
    }
}

impl Context for Stream {
    fn on_http_call_response(&mut self, _token: u32, _headers: usize, _body: usize, _: usize) {
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

/// One message through the engine, and its effects: metrics, the audit line,
/// notifications. Returns the bytes to forward when they changed.
fn decide(
    engine: Option<&Engine>,
    message: &[u8],
    peer: Option<IpAddr>,
    now: u64,
    config: &Config,
) -> Option<Vec<u8>> {
    let ctx = CallCtx {
        now,
        peer,
        transport: Transport::Tcp,
        node: &config.node,
    };
    let mut store = SharedCallbacks::new(&HostShared);
    let verdict = match engine {
        Some(engine) => engine.on_message(message, &ctx, &mut store),
        None => {
            let trace = vec!["no policy bundle active yet: forwarded unchanged".to_owned()];
            let mut v = Verdict::unchanged(now, String::new(), trace);
            v.metrics.push("e911.unconfigured");
            v
        }
    };
    for _ in 0..store.conflicts {
        metrics::count(metrics::ELIN_CONFLICTS);
    }
    for _ in 0..store.failures {
        metrics::count(metrics::HOST_ERRORS);
    }
    for name in &verdict.metrics {
        metrics::count(name);
    }
    if verdict.is_audited() {
        // One line per emergency, test or callback call (or degraded decision): the
        // engine's report as JSON, which log shippers and the harness parse back.
        match serde_json::to_string(&verdict.report) {
            Ok(json) => host::log(LogLevel::Info, &format!("{}{json}", crate::AUDIT_PREFIX)),
            Err(_) => host::log(
                LogLevel::Error,
                &format!(
                    "{}(unserialisable) call {}",
                    crate::AUDIT_PREFIX,
                    verdict.report.call_id.as_deref().unwrap_or("?")
                ),
            ),
        }
    }
    for n in &verdict.notifications {
        notify(config, n);
    }
    match verdict.output {
        Output::Unchanged => None,
        Output::Rewritten(bytes) => Some(bytes),
    }
}

/// Posts one notification to its webhook through the notification cluster; the call does
/// not wait for it.
fn notify(config: &Config, n: &e911_engine::Notification) {
    let (Some(cluster), Some(url)) = (&config.notifications, &n.webhook) else {
        metrics::count(metrics::NOTIFICATIONS_FAILED);
        host::log(
            LogLevel::Warn,
            &format!(
                "e911: notification for {} not sent: {}",
                n.target,
                if n.webhook.is_none() {
                    "Envoy sends webhooks only (no SIP MESSAGE)"
                } else {
                    "no notifications cluster configured"
                }
            ),
        );
        return;
    };
    let (authority, path) = split_webhook_url(url);
    let headers = vec![
        (":method", "POST"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/json"),
    ];
    let timeout = Duration::from_millis(u64::from(cluster.timeout_ms));
    match host::http_call(&cluster.cluster, headers, Some(n.json.as_bytes()), timeout) {
        Ok(_) => metrics::count(metrics::NOTIFICATIONS_SENT),
        Err(status) => {
            metrics::count(metrics::NOTIFICATIONS_FAILED);
            host::log(
                LogLevel::Warn,
                &format!(
                    "e911: notification for {} not sent through cluster {} ({status:?})",
                    n.target, cluster.cluster
                ),
            );
        }
    }
}

/// A notification's answer: anything but 2xx counts as failed.
fn notification_answered() {
    let status = host::call_response_header(":status").unwrap_or_default();
    if !status.starts_with('2') {
        metrics::count(metrics::NOTIFICATIONS_FAILED);
        host::log(
            LogLevel::Warn,
            &format!(
                "e911: notification answered {}",
                if status.is_empty() {
                    "nothing"
                } else {
                    &status
                }
            ),
        );
    }
}
