//! The filter's configuration: the JSON in Envoy's `configuration` of the plugin.
//!
//! ```json
//! {"node": "edge-1.example", "max_message_bytes": 65536,
//!  "bundle": {"inline": "<base64 of a compiled bundle>"},
//!  "trusted_keys": ["<64 hex digits: the KEY.pub `e911-harness bundle keygen` writes>"],
//!  "allow_rollback": false,
//!  "notifications": {"cluster": "security-desk", "timeout_ms": 2000}}
//! ```
//!
//! or `"bundle": {"http": {"cluster": "bundles", "authority": "bundles.example",
//! "path": "/contoso.bundle", "poll_seconds": 5}}`. ELIN callback mappings shared with
//! the other proxies of an HA group through etcd: `"callback_store": {"etcd": {"clusters":
//! ["etcd-1", "etcd-2", "etcd-3"], "authority": "etcd", "prefix": "/e911/", "wait_ms":
//! 150, "grace_seconds": 3600}}`, one Envoy cluster per member (or `"cluster": "etcd"`,
//! one cluster of them all; see `crate::replicated`; TLS and client certificates to etcd
//! are the clusters' transport sockets). Unknown fields are refused, so a typo fails
//! `on_configure` instead of being ignored.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use e911_policy::{PublicKey, Rollback};
use serde::Deserialize;

/// Envoy stops reading a connection at about 1 MiB buffered (its default per-connection
/// buffer limit), so a message limit must stay well below that or a large message could
/// stall instead of being passed through raw.
pub const MAX_MESSAGE_LIMIT: u32 = 512 * 1024;

/// The smallest message limit that still holds an ordinary INVITE with SDP.
pub const MIN_MESSAGE_LIMIT: u32 = 1024;

/// Where the policy bundle comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BundleSource {
    /// Compiled bundle bytes carried in the configuration (static, or ECDS for reloads).
    Inline(Vec<u8>),
    /// Polled over HTTP through an Envoy cluster.
    Http(HttpSource),
}

/// An HTTP endpoint serving the compiled bundle, with `ETag`s.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    /// The Envoy cluster to call.
    pub cluster: String,
    /// The `:authority` of the request.
    pub authority: String,
    /// The request path.
    pub path: String,
    /// Seconds between polls.
    #[serde(default = "default_poll_seconds")]
    pub poll_seconds: u32,
}

fn default_poll_seconds() -> u32 {
    5
}

/// Where notifications (security-desk webhooks) go: Envoy can only call clusters, so the
/// webhook URL's path and host are sent through this one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// The Envoy cluster to POST to.
    pub cluster: String,
    /// How long Envoy waits for the answer (the call itself never waits).
    #[serde(default = "default_timeout_ms")]
    pub timeout_ms: u32,
}

fn default_timeout_ms() -> u32 {
    2000
}

/// ELIN callback mappings replicated through etcd's JSON gateway.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EtcdStore {
    /// One Envoy cluster per etcd member (its client URL), tried in turn from the last
    /// one that answered, so a dead member costs one refused connection.
    #[serde(default)]
    pub clusters: Vec<String>,
    /// Or one Envoy cluster of every member, its load balancer choosing (then a retry
    /// may meet a dead member again until the cluster's health check takes it out).
    #[serde(default)]
    cluster: Option<String>,
    /// The `:authority` of the requests (default: the first cluster's name).
    #[serde(default)]
    pub authority: String,
    /// Keys live under this prefix: mappings at `<prefix>callbacks/<ELIN>`.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// The longest an emergency INVITE waits for etcd, over all its requests; past it
    /// the call goes out decided on this proxy's copy, degraded.
    #[serde(default = "default_wait_ms")]
    pub wait_ms: u32,
    /// How long a mapping outlives its callback window in etcd (its lease), so ELIN
    /// choice still sees how recently an ELIN was used.
    #[serde(default = "default_grace_seconds")]
    pub grace_seconds: u32,
}

fn default_prefix() -> String {
    "/e911/".to_owned()
}

fn default_wait_ms() -> u32 {
    150
}

fn default_grace_seconds() -> u32 {
    3600
}

/// The bounds of `wait_ms`: below, even a healthy cluster on a LAN misses; above, a
/// caller hears silence for longer than a PSAP-bound call should ever wait on us.
pub const WAIT_MS_RANGE: core::ops::RangeInclusive<u32> = 10..=2000;

/// The parsed configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// This proxy's host name, used in Content-IDs the engine writes.
    pub node: String,
    /// The largest SIP message framed; over it the direction passes through raw.
    pub max_message_bytes: u32,
    /// The bundle.
    pub bundle: BundleSource,
    /// Keys a bundle must be signed with (none: unsigned bundles are accepted).
    pub trusted_keys: Vec<PublicKey>,
    /// Whether a bundle older than the running one may replace it (`allow_rollback`).
    pub rollback: Rollback,
    /// The notification cluster, if any.
    pub notifications: Option<Notifications>,
    /// The replicated callback store, if configured (else shared data, this proxy only).
    pub etcd: Option<EtcdStore>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum RawStore {
    Etcd(EtcdStore),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    node: Option<String>,
    max_message_bytes: Option<u32>,
    bundle: RawBundle,
    #[serde(default)]
    trusted_keys: Vec<String>,
    #[serde(default)]
    allow_rollback: bool,
    notifications: Option<Notifications>,
    callback_store: Option<RawStore>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
enum RawBundle {
    Inline(String),
    Http(HttpSource),
}

impl Config {
    /// Parses the plugin configuration; the error is one line saying what is wrong.
    pub fn parse(json: &[u8]) -> Result<Self, String> {
        let raw: RawConfig = serde_json::from_slice(json)
            .map_err(|err| format!("plugin configuration is not valid: {err}"))?;
        let max_message_bytes = raw.max_message_bytes.unwrap_or(e911_sip::MAX_MESSAGE_BYTES);
        if !(MIN_MESSAGE_LIMIT..=MAX_MESSAGE_LIMIT).contains(&max_message_bytes) {
            return Err(format!(
                "max_message_bytes {max_message_bytes} is outside {MIN_MESSAGE_LIMIT}..={MAX_MESSAGE_LIMIT}"
            ));
        }
        let bundle = match raw.bundle {
            RawBundle::Inline(text) => BundleSource::Inline(
                STANDARD
                    .decode(text.trim())
                    .map_err(|err| format!("bundle.inline is not base64: {err}"))?,
            ),
            RawBundle::Http(http) => {
                if http.cluster.is_empty() || !http.path.starts_with('/') {
                    return Err(
                        "bundle.http needs a cluster and a path starting with '/'".to_owned()
                    );
                }
                if http.poll_seconds == 0 {
                    return Err("bundle.http.poll_seconds must be at least 1".to_owned());
                }
                BundleSource::Http(http)
            }
        };
        let trusted_keys = raw
            .trusted_keys
            .iter()
            .enumerate()
            .map(|(i, text)| parse_key(text).map_err(|why| format!("trusted_keys[{i}]: {why}")))
            .collect::<Result<Vec<_>, _>>()?;
        let etcd = match raw.callback_store {
            None => None,
            Some(RawStore::Etcd(mut etcd)) => {
                if let Some(cluster) = etcd.cluster.take() {
                    if !etcd.clusters.is_empty() {
                        return Err(
                            "callback_store.etcd has both cluster and clusters: give one"
                                .to_owned(),
                        );
                    }
                    etcd.clusters.push(cluster);
                }
                if etcd.clusters.iter().any(String::is_empty)
                    || etcd.clusters.is_empty()
                    || !etcd.prefix.starts_with('/')
                {
                    return Err(
                        "callback_store.etcd needs clusters (or a cluster) and a prefix starting with '/'"
                            .to_owned(),
                    );
                }
                if !WAIT_MS_RANGE.contains(&etcd.wait_ms) {
                    return Err(format!(
                        "callback_store.etcd.wait_ms {} is outside {}..={}",
                        etcd.wait_ms,
                        WAIT_MS_RANGE.start(),
                        WAIT_MS_RANGE.end()
                    ));
                }
                if etcd.authority.is_empty() {
                    etcd.authority = etcd.clusters.first().cloned().unwrap_or_default();
                }
                Some(etcd)
            }
        };
        Ok(Self {
            node: raw.node.unwrap_or_else(|| "envoy".to_owned()),
            max_message_bytes,
            bundle,
            trusted_keys,
            rollback: if raw.allow_rollback {
                Rollback::Allow
            } else {
                Rollback::Refuse
            },
            notifications: raw.notifications,
            etcd,
        })
    }

    /// The SIP limits for framing and parsing: the engine's, with this message limit.
    pub fn limits(&self) -> e911_sip::Limits {
        let mut limits = e911_engine::ENGINE_LIMITS.with_max_message_bytes(self.max_message_bytes);
        // Bounded by the message size alone (see ENGINE_LIMITS).
        limits.max_header_bytes = self.max_message_bytes;
        limits
    }
}

/// A public key in the one text form every host reads: 64 hex digits, as
/// `e911-harness bundle keygen` writes to `KEY.pub`.
fn parse_key(text: &str) -> Result<PublicKey, String> {
    PublicKey::from_hex(text).map_err(|err| {
        format!("{err}: a public key is written as the 64 hex digits `e911-harness bundle keygen` puts in KEY.pub, not base64")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_inline_bundle_with_defaults() {
        let c = Config::parse(br#"{"bundle": {"inline": "aGVsbG8="}}"#).unwrap();
        assert_eq!(c.bundle, BundleSource::Inline(b"hello".to_vec()));
        assert_eq!(c.node, "envoy");
        assert_eq!(c.max_message_bytes, 65536);
        assert!(c.trusted_keys.is_empty());
        assert_eq!(c.rollback, Rollback::Refuse);
    }

    #[test]
    fn reads_hex_trusted_keys_and_allow_rollback() {
        let key = e911_policy::SecretKey::from_seed([3; 32]).public_key();
        let json = format!(
            r#"{{"bundle": {{"inline": "aA=="}}, "trusted_keys": ["{}"], "allow_rollback": true}}"#,
            key.to_hex()
        );
        let c = Config::parse(json.as_bytes()).unwrap();
        assert_eq!(c.trusted_keys, [key]);
        assert_eq!(c.rollback, Rollback::Allow);
    }

    #[test]
    fn reads_an_http_source() {
        let c = Config::parse(
            br#"{"node": "edge-1", "max_message_bytes": 4096, "bundle": {"http":
                {"cluster": "bundles", "authority": "b.example", "path": "/c.bundle"}},
                "notifications": {"cluster": "desk"}}"#,
        )
        .unwrap();
        let BundleSource::Http(http) = &c.bundle else {
            panic!("http expected")
        };
        assert_eq!(http.poll_seconds, 5);
        assert_eq!(c.limits().max_message_bytes, 4096);
        assert_eq!(c.limits().max_header_bytes, 4096);
        assert_eq!(c.notifications.unwrap().timeout_ms, 2000);
    }

    #[test]
    fn reads_an_etcd_callback_store_with_defaults() {
        let c = Config::parse(
            br#"{"bundle": {"inline": "aA=="}, "callback_store": {"etcd": {"cluster": "etcd"}}}"#,
        )
        .unwrap();
        let etcd = c.etcd.unwrap();
        assert_eq!(
            (etcd.authority.as_str(), etcd.prefix.as_str(), etcd.wait_ms),
            ("etcd", "/e911/", 150)
        );
        assert_eq!(etcd.clusters, ["etcd"]);
        let c = Config::parse(
            br#"{"bundle": {"inline": "aA=="}, "callback_store": {"etcd": {"clusters": ["e1", "e2"]}}}"#,
        )
        .unwrap();
        assert_eq!(c.etcd.unwrap().clusters, ["e1", "e2"]);
        assert_eq!(etcd.grace_seconds, 3600);
        assert!(
            Config::parse(br#"{"bundle": {"inline": "aA=="}}"#)
                .unwrap()
                .etcd
                .is_none()
        );
    }

    #[test]
    fn refuses_bad_configurations_in_one_line() {
        for (json, says) in [
            (&br#"{"bundle": {"inline": "***"}}"#[..], "not base64"),
            (
                br#"{"bundle": {"inline": "aA=="}, "nodes": "x"}"#,
                "unknown field",
            ),
            (
                br#"{"bundle": {"inline": "aA=="}, "max_message_bytes": 10}"#,
                "outside",
            ),
            (br#"{"bundle": {"ftp": "x"}}"#, "unknown variant"),
            (
                br#"{"bundle": {"inline": "aA=="}, "trusted_keys": ["aA=="]}"#,
                "trusted_keys[0]",
            ),
            // The base64 form this filter once read names the expected form.
            (
                br#"{"bundle": {"inline": "aA=="}, "trusted_keys": ["A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="]}"#,
                "trusted_keys[0]: expected 64 hex digits",
            ),
            (
                br#"{"bundle": {"http": {"cluster": "c", "authority": "a", "path": "x"}}}"#,
                "path",
            ),
            (b"not json", "not valid"),
            (
                br#"{"bundle": {"inline": "aA=="}, "callback_store": {"etcd": {"cluster": "e", "wait_ms": 5000}}}"#,
                "wait_ms 5000 is outside",
            ),
            (
                br#"{"bundle": {"inline": "aA=="}, "callback_store": {"etcd": {"cluster": "e", "prefix": "e911"}}}"#,
                "prefix starting with",
            ),
            (
                br#"{"bundle": {"inline": "aA=="}, "callback_store": {"redis": {}}}"#,
                "unknown variant",
            ),
            (
                br#"{"bundle": {"inline": "aA=="}, "callback_store": {"etcd": {}}}"#,
                "needs clusters",
            ),
            (
                br#"{"bundle": {"inline": "aA=="}, "callback_store": {"etcd": {"cluster": "a", "clusters": ["b"]}}}"#,
                "both cluster and clusters",
            ),
        ] {
            let err = Config::parse(json).unwrap_err();
            assert!(err.contains(says), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }
}
