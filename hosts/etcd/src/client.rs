//! A small blocking client for etcd's JSON gateway (the `/v3/…` HTTP endpoints every
//! etcd 3.4+ member serves next to gRPC): single-key reads, a prefix listing, leases and
//! one compare-and-swap, in the request and answer forms of [`crate::wire`].
//!
//! Every call has a deadline. Members are tried in turn from the last one that answered,
//! so a dead member costs one refused connection, not the call's whole wait.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use ureq::tls::{ClientCert, PemItem, RootCerts, TlsConfig};

use crate::wire::{self, Kv, Put, Txn};

/// The largest answer read from etcd: a listing of every mapping under the prefix.
const MAX_ANSWER_BYTES: u64 = 4 << 20;

/// The shortest try given to one member, so that the last member of a list still gets
/// a real chance when the earlier ones used most of the wait.
const MIN_TRY: Duration = Duration::from_millis(20);

/// How to reach the cluster.
#[derive(Debug, Clone, Default)]
pub struct Connection {
    /// Member URLs (`http://10.0.0.1:2379`, `https://…`), tried in turn.
    pub endpoints: Vec<String>,
    /// PEM file with the CA that signed the members' certificates (for `https://`).
    pub ca: Option<PathBuf>,
    /// PEM files with a client certificate and its key, when etcd asks for one
    /// (`--client-cert-auth`).
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
    /// etcd user and password, when its authentication is enabled.
    pub user: Option<(String, String)>,
}

/// What a compare-and-swap did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swap {
    /// The key still had the expected revision; the value is written.
    Written,
    /// Someone wrote the key first: what it holds now (`None`: deleted meanwhile).
    Lost(Option<Kv>),
}

/// A client for one etcd cluster.
pub struct Client {
    agent: ureq::Agent,
    endpoints: Vec<String>,
    /// The member that answered last: tried first.
    preferred: AtomicUsize,
    user: Option<(String, String)>,
    /// The token from `/v3/auth/authenticate`, renewed when a call is refused with 401.
    token: Mutex<Option<String>>,
}

impl Client {
    /// A client for `connection`: reads the TLS files now, so a wrong path fails at start.
    pub fn new(connection: &Connection) -> Result<Self> {
        if connection.endpoints.is_empty() {
            bail!("no etcd endpoint given");
        }
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections_per_host(4);
        if connection
            .endpoints
            .iter()
            .any(|e| e.starts_with("https://"))
        {
            config = config.tls_config(tls(connection)?);
        }
        Ok(Self {
            agent: config.build().into(),
            endpoints: connection
                .endpoints
                .iter()
                .map(|e| e.trim_end_matches('/').to_owned())
                .collect(),
            preferred: AtomicUsize::new(0),
            user: connection.user.clone(),
            token: Mutex::new(None),
        })
    }

    /// The value at `key`, if any, as the member that answers has it. The read is
    /// serializable, not linearizable: the member answers from its own state without a
    /// round of the quorum. A read that is a few milliseconds stale is harmless here: a
    /// write based on it fails its compare-and-swap, and the member that answered the
    /// failed swap has applied the write that beat it.
    pub fn get(&self, key: &str, deadline: Instant) -> Result<Option<Kv>> {
        let answer = self.call(wire::RANGE, &wire::get(key), deadline)?;
        Ok(wire::kvs(&answer)?.into_iter().next().map(|(_, kv)| kv))
    }

    /// Every key under `prefix` with its value.
    pub fn list(&self, prefix: &str, deadline: Instant) -> Result<Vec<(String, Kv)>> {
        Ok(wire::kvs(&self.call(
            wire::RANGE,
            &wire::list(prefix),
            deadline,
        )?)?)
    }

    /// Writes `value` at `key` with `lease` if the key was last written at `revision`
    /// (0: if it does not exist), in one transaction; otherwise reads what it holds.
    pub fn swap(
        &self,
        key: &str,
        revision: i64,
        value: &[u8],
        lease: i64,
        deadline: Instant,
    ) -> Result<Swap> {
        let body = wire::txn(&[(key, revision)], &[Put { key, value, lease }], &[]);
        match wire::txn_answer(&self.call(wire::TXN, &body, deadline)?)? {
            Txn::Written { .. } => Ok(Swap::Written),
            Txn::Lost(current) => Ok(Swap::Lost(current.into_iter().next().map(|(_, kv)| kv))),
        }
    }

    /// A lease of `ttl` seconds: keys written with it go when it expires.
    pub fn grant(&self, ttl: u64, deadline: Instant) -> Result<i64> {
        Ok(wire::granted(&self.call(
            wire::GRANT,
            &wire::grant(ttl),
            deadline,
        )?)?)
    }

    /// Whether the member that answers leads the cluster: (its id, the leader's id), as
    /// etcd writes them (unsigned 64-bit, in decimal).
    pub fn status(&self, deadline: Instant) -> Result<(String, String)> {
        Ok(wire::status_answer(&self.call(
            wire::STATUS,
            &wire::status(),
            deadline,
        )?)?)
    }

    /// POSTs `body` to `path` on the members in turn until one answers 200.
    fn call(&self, path: &str, body: &[u8], deadline: Instant) -> Result<Vec<u8>> {
        let count = self.endpoints.len();
        let first = self.preferred.load(Ordering::Relaxed);
        let mut last_error = anyhow!("no etcd member was tried");
        for tried in 0..count {
            let index = (first + tried) % count;
            let Some(endpoint) = self.endpoints.get(index) else {
                continue;
            };
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(last_error.context("no answer within the wait"));
            }
            // Share what is left among the members not tried yet.
            let share = (left / u32::try_from(count - tried).unwrap_or(1)).max(MIN_TRY);
            match self.try_member(endpoint, path, body, share.min(left)) {
                Ok(answer) => {
                    self.preferred.store(index, Ordering::Relaxed);
                    return Ok(answer);
                }
                Err(err) => last_error = err.context(format!("etcd member {endpoint}")),
            }
        }
        Err(last_error)
    }

    fn try_member(
        &self,
        endpoint: &str,
        path: &str,
        body: &[u8],
        wait: Duration,
    ) -> Result<Vec<u8>> {
        let mut renewed = false;
        loop {
            let token = self
                .token
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let (status, answer) = self.post(endpoint, path, body, wait, token.as_deref())?;
            match status {
                200 => return Ok(answer),
                401 if self.user.is_some() && !renewed => {
                    renewed = true;
                    self.authenticate(endpoint, wait)?;
                }
                _ => bail!("{path}: HTTP {status}: {}", wire::message(&answer)),
            }
        }
    }

    /// One POST to one member within `wait`: its status and its answer (empty when it is
    /// over the bound).
    fn post(
        &self,
        endpoint: &str,
        path: &str,
        body: &[u8],
        wait: Duration,
        token: Option<&str>,
    ) -> Result<(u16, Vec<u8>)> {
        let mut request = self
            .agent
            .post(format!("{endpoint}{path}"))
            .config()
            .timeout_global(Some(wait))
            .build();
        if let Some(token) = token {
            request = request.header("Authorization", token);
        }
        let mut response = request.content_type("application/json").send(body)?;
        let answer = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .read_to_vec()
            .unwrap_or_default();
        Ok((response.status().as_u16(), answer))
    }

    /// Exchanges the user and password for a token (etcd's simple tokens last five
    /// minutes by default; a 401 brings us back here).
    fn authenticate(&self, endpoint: &str, wait: Duration) -> Result<()> {
        let Some((name, password)) = &self.user else {
            return Ok(());
        };
        let body = wire::authenticate(name, password);
        let (status, answer) = self.post(endpoint, wire::AUTHENTICATE, &body, wait, None)?;
        let Some(token) = wire::token(&answer) else {
            bail!(
                "etcd refused user {name}: HTTP {status}: {}",
                wire::message(&answer)
            );
        };
        *self.token.lock().unwrap_or_else(PoisonError::into_inner) = Some(token);
        Ok(())
    }
}

/// The TLS settings: the given CA as the only root, and the client certificate if any.
fn tls(connection: &Connection) -> Result<TlsConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut builder = TlsConfig::builder().unversioned_rustls_crypto_provider(provider);
    if let Some(ca) = &connection.ca {
        let (roots, _) = pem(ca)?;
        if roots.is_empty() {
            bail!("{}: no certificate in it", ca.display());
        }
        builder = builder.root_certs(RootCerts::new_with_certs(&roots));
    }
    match (&connection.cert, &connection.key) {
        (Some(cert), Some(key)) => {
            let (chain, _) = pem(cert)?;
            let (_, private) = pem(key)?;
            let private =
                private.with_context(|| format!("{}: no private key in it", key.display()))?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, private)));
        }
        (None, None) => {}
        _ => bail!("a client certificate needs both its certificate and its key file"),
    }
    Ok(builder.build())
}

type Pem = (
    Vec<ureq::tls::Certificate<'static>>,
    Option<ureq::tls::PrivateKey<'static>>,
);

/// The certificates and the first private key in a PEM file.
fn pem(path: &Path) -> Result<Pem> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut certs = Vec::new();
    let mut key = None;
    for item in ureq::tls::parse_pem(&bytes) {
        match item.with_context(|| format!("{}: not PEM", path.display()))? {
            PemItem::Certificate(cert) => certs.push(cert),
            PemItem::PrivateKey(found) => key = key.or(Some(found)),
            _ => {}
        }
    }
    Ok((certs, key))
}
