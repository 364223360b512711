//! One message through the engine ([`judge`]) and the verdict's effects ([`finish`]):
//! metrics, the audit line, notifications, the bytes to forward. Apart, because a
//! decision that waits for etcd is judged now and finished when the answer comes.

use std::net::IpAddr;
use std::time::Duration;

use e911_engine::{CallCtx, Engine, Output, Transport, Verdict};
use proxy_wasm::types::LogLevel;

use crate::active::HostShared;
use crate::addresses::split_webhook_url;
use crate::config::Config;
use crate::replicated::{Plan, Recording};
use crate::shared::SharedCallbacks;
use crate::{host, metrics};

/// A verdict, and the etcd transaction that must confirm it first, if any.
pub enum Judged {
    /// Final: finish it now.
    Final(Verdict),
    /// Decided on the mirror of etcd's mappings: final once `Plan` is confirmed.
    Waits(Verdict, Plan),
}

/// Decides one message at `now` from `peer`, with the callback store configured.
pub fn judge(
    engine: Option<&Engine>,
    message: &[u8],
    peer: Option<IpAddr>,
    now: u64,
    config: &Config,
) -> Judged {
    let ctx = CallCtx {
        now,
        peer,
        transport: Transport::Tcp,
        node: &config.node,
    };
    let Some(engine) = engine else {
        let trace = vec!["no policy bundle active yet: forwarded unchanged".to_owned()];
        let mut v = Verdict::unchanged(now, String::new(), trace);
        v.metrics.push(e911_engine::Metric::Unconfigured);
        return Judged::Final(v);
    };
    if config.etcd.is_some() {
        let mut store = Recording::new(&HostShared);
        let verdict = engine.on_message(message, &ctx, &mut store);
        return match store.plan() {
            None => Judged::Final(verdict),
            Some(plan) => Judged::Waits(verdict, plan),
        };
    }
    let mut store = SharedCallbacks::new(&HostShared);
    let verdict = engine.on_message(message, &ctx, &mut store);
    for _ in 0..store.conflicts {
        metrics::count(metrics::ELIN_CONFLICTS);
    }
    for _ in 0..store.failures {
        metrics::count(metrics::HOST_ERRORS);
    }
    Judged::Final(verdict)
}

/// A final verdict's effects. Returns the bytes to forward when they changed.
pub fn finish(verdict: Verdict, config: &Config) -> Option<Vec<u8>> {
    for metric in &verdict.metrics {
        metrics::count_engine(*metric);
    }
    if verdict.is_audited() {
        // One line per emergency, test or callback call (or degraded decision): the
        // engine's report as JSON, which log shippers and the harness parse back.
        let mut line = String::with_capacity(1600);
        line.push_str(crate::AUDIT_PREFIX);
        verdict.report.push_json(&mut line);
        host::log(LogLevel::Info, &line);
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
pub fn notification_answered() {
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
