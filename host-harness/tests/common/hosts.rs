//! The SIP proxies under test, started the same way for the tests that hold every host
//! to one behaviour (failover, chaos): the harness proxy and Kamailio.

use std::path::{Path, PathBuf};

use super::http::webhook;
use super::kamailio::{
    Kamailio, log as kamailio_log, require_tools, settings, start_kamailio_with,
};
use super::policy::{build_bundle, loopback_sources};
use super::ports::free_port;
use super::process::Guard;
use super::proxy::{audit, audit_events, proxy_log, start_proxy};

/// The proxy under test.
#[derive(Clone, Copy, PartialEq)]
pub enum Host {
    /// `e911-harness proxy`, which sends each attempt's own bytes.
    Harness,
    /// Kamailio with the shipped kamailio.cfg, whose failure route resends the request it
    /// holds (this call's edits included) with another destination and Request-URI.
    Kamailio,
}

/// A proxy running for one test, with the trunks as its route upstreams.
pub enum Proxy {
    Harness {
        dir: PathBuf,
        port: u16,
        guard: Guard,
    },
    Kamailio(Kamailio),
}

impl Proxy {
    /// Starts `host` on 127.0.0.1 with the loopback policy, `trunks` (id, address) as
    /// the upstreams of those trunks and `default` as every other call's, failing over
    /// after 500 ms without a provisional response. Everything over TCP.
    pub fn start(host: Host, dir: &Path, trunks: &[(&str, &str)], default: &str) -> Self {
        Self::start_with(host, dir, trunks, default, &|_| {})
    }

    /// As [`Proxy::start`], with `edit` applied to the bundle's source folder first.
    pub fn start_with(
        host: Host,
        dir: &Path,
        trunks: &[(&str, &str)],
        default: &str,
        edit: &dyn Fn(&Path),
    ) -> Self {
        let hook = webhook();
        let sources = loopback_sources(dir, &hook.url, &["127.0.0.0/8"]);
        edit(&sources);
        match host {
            Host::Harness => {
                let port = free_port("127.0.0.1");
                let mut args = vec![
                    format!("--listen=tcp:127.0.0.1:{port}"),
                    format!("--policy={}", sources.display()),
                    format!("--upstream=tcp:{default}"),
                    format!("--state-dir={}", dir.join("state").display()),
                    "--failover-timeout-ms=500".to_owned(),
                ];
                for (trunk, addr) in trunks {
                    args.push(format!("--route-upstream={trunk}=tcp:{addr}"));
                }
                // As Kamailio's E911_FAILSAFE_UPSTREAM below: the primary's.
                args.push(format!("--failsafe-upstream=tcp:{}", trunks[0].1));
                let guard = start_proxy(&args, dir);
                Proxy::Harness {
                    dir: dir.to_owned(),
                    port,
                    guard,
                }
            }
            Host::Kamailio => {
                require_tools();
                build_bundle(&sources, &dir.join("policy.bundle"));
                let uri = |addr: &str| format!("sip:{addr};transport=tcp");
                let upstreams: Vec<(&str, String)> =
                    trunks.iter().map(|(t, addr)| (*t, uri(addr))).collect();
                let ini = settings(dir, &upstreams, "");
                // The fail-safe upstream is the primary's: tried once already, so not again.
                let failsafe = uri(trunks[0].1);
                let defines = ["E911_FAILOVER_MS=500".to_owned()];
                Proxy::Kamailio(start_kamailio_with(
                    dir,
                    &ini,
                    &uri(default),
                    &failsafe,
                    &defines,
                ))
            }
        }
    }

    /// Whether the proxy process is still running.
    pub fn alive(&mut self) -> bool {
        match self {
            Proxy::Harness { guard, .. } => guard.child().try_wait().unwrap().is_none(),
            Proxy::Kamailio(kamailio) => kamailio.alive(),
        }
    }

    pub fn addr(&self) -> String {
        match self {
            Proxy::Harness { port, .. } => format!("127.0.0.1:{port}"),
            Proxy::Kamailio(kamailio) => kamailio.addr(),
        }
    }

    pub fn log(&self) -> String {
        match self {
            Proxy::Harness { dir, .. } => proxy_log(dir),
            Proxy::Kamailio(kamailio) => kamailio_log(&kamailio.dir),
        }
    }

    /// The decisions audited.
    pub fn decisions(&self) -> Vec<serde_json::Value> {
        match self {
            Proxy::Harness { dir, .. } => audit(&dir.join("state")),
            Proxy::Kamailio(kamailio) => kamailio.audit(),
        }
    }

    /// The failover events audited, in order.
    pub fn events(&self) -> Vec<serde_json::Value> {
        match self {
            Proxy::Harness { dir, .. } => audit_events(&dir.join("state")),
            Proxy::Kamailio(kamailio) => kamailio.audit_events(),
        }
    }
}
