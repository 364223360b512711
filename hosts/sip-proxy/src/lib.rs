//! `e911-sip-proxy`: `e911-harness proxy`, a small SIP proxy over UDP and TCP for local
//! testing with SIPp.
//!
//! Every message goes through a [`decide::Decide`] (the policy component under wasmtime,
//! loaded once at start, or with `--engine native` the linked engine), its effects are performed
//! ([`effects`], [`notify`]), the proxy's own RFC 3261 §16.6/§16.7 edits are applied
//! ([`hop`]), and the bytes go on ([`net`]): requests to the upstream of the verdict's
//! route, responses back where their request came from. The policy source is watched and
//! hot-swapped between messages ([`reload`]). An emergency INVITE whose route has more
//! trunks (or an ECRC route behind it) is followed to its final answer and sent on to the
//! next trunk when one fails ([`failover`]).
//!
//! Threads: one per UDP listener, one per TCP connection (accepted or to an upstream),
//! the policy watcher (which also writes `status.json`), the failover timer, and the
//! notification worker.
//!
//! Depends on the plugin crates, on `e911-decider` for the engines it decides through
//! (and `e911-component-host` to compile the component once for every pool member), on
//! `e911-host-files` (policy, keys, callback state) and on `e911-oci` (the `oci://`
//! follower). Only the CLI depends on it.

pub mod callbacks;
pub mod decide;
pub mod effects;
pub mod failover;
pub mod failsafe;
pub mod hop;
pub mod net;
pub mod notify;
pub mod policy_origin;
pub mod reload;
pub mod route;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use anyhow::{Context, Result, bail};

pub use reload::print_status;

/// What `proxy` takes.
#[derive(clap::Args, Debug)]
pub struct ProxyArgs {
    /// Where to listen: `udp:HOST:PORT` or `tcp:HOST:PORT` (repeat for both).
    #[arg(long = "listen", required = true)]
    pub listen: Vec<String>,
    /// Policy: a source folder, a compiled bundle, or a registry tag
    /// `oci://REGISTRY/REPO:TAG`; watched and hot-reloaded.
    #[arg(long)]
    pub policy: PathBuf,
    /// Default next hop, `[udp:|tcp:]HOST:PORT` (no prefix: the transport the message
    /// came on). Non-emergency requests and any message our code failed on go here.
    #[arg(long)]
    pub upstream: String,
    /// Next hop for calls routed to an `elin-gateway` trunk.
    #[arg(long)]
    pub elin_upstream: Option<String>,
    /// Next hop for one trunk of the policy: `TRUNK=[udp:|tcp:]HOST:PORT` (repeatable).
    #[arg(long = "route-upstream")]
    pub route_upstream: Vec<String>,
    /// Where an emergency call goes, unchanged, when the plugin cannot decide it (a
    /// message too large to read, a failed decision): the provider's trunk. Recognised by
    /// the bundle's own emergency numbers. Without it, such a call goes to `--upstream`.
    #[arg(long)]
    pub failsafe_upstream: Option<String>,
    /// A TCP next hop for requests that grow past 1300 bytes while headed for UDP.
    #[arg(long)]
    pub large_upstream: Option<String>,
    /// Where the callback store, the audit log and `status.json` live.
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Forward every message as-is, without the plugin (for rate comparisons).
    #[arg(long)]
    pub no_plugin: bool,
    /// How long a trunk may stay silent (no provisional response) before an emergency
    /// INVITE is sent to the next trunk of its route, or the ECRC route's.
    #[arg(long, default_value_t = 2000)]
    pub failover_timeout_ms: u64,
    /// This proxy's host name, used in the Content-IDs the plugin writes.
    #[arg(long, default_value = "edge-1.contoso.com")]
    pub node: String,
    /// Public key files (hex); when given, bundles must be signed by one of them.
    #[arg(long = "trust-key")]
    pub trust_keys: Vec<PathBuf>,
    /// The replicated callback store: `--etcd URL,…` and its settings.
    #[command(flatten)]
    pub etcd: callbacks::EtcdArgs,
    /// The engine: `--engine component|native`, `--component PATH`.
    #[command(flatten)]
    pub engine: e911_decider::EngineArgs,
    /// For an `oci://` policy: how to reach the registry (`--insecure`).
    #[command(flatten)]
    pub registry: e911_oci::RegistryArgs,
    /// For an `oci://` policy: how often its tag is looked at (`--poll-seconds`).
    #[command(flatten)]
    pub follow: e911_oci::FollowArgs,
}

/// A listening address.
#[derive(Debug, Clone, Copy)]
pub enum Listen {
    /// `--listen udp:HOST:PORT`.
    Udp(SocketAddr),
    /// `--listen tcp:HOST:PORT`.
    Tcp(SocketAddr),
}

fn parse_listen(spec: &str) -> Result<Listen> {
    let (proto, addr) = spec
        .split_once(':')
        .with_context(|| format!("--listen {spec}: expected udp:HOST:PORT or tcp:HOST:PORT"))?;
    let addr: SocketAddr = addr
        .parse()
        .with_context(|| format!("--listen {spec}: not an IP:PORT"))?;
    match proto {
        "udp" => Ok(Listen::Udp(addr)),
        "tcp" => Ok(Listen::Tcp(addr)),
        _ => bail!("--listen {spec}: the transport is udp or tcp"),
    }
}

/// Runs the proxy until the process is killed.
pub fn run(args: &ProxyArgs) -> Result<()> {
    let listens = args
        .listen
        .iter()
        .map(|s| parse_listen(s))
        .collect::<Result<Vec<_>>>()?;
    let routes = route::Routes::from_args(args)?;
    if let Some(dir) = &args.state_dir {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("{}: cannot create", dir.display()))?;
    }
    let keys = e911_host_files::policy_source::read_keys(&args.trust_keys)?;
    let watcher = reload::Watcher::start(args, keys)?;
    let effects = effects::Effects::start(args.state_dir.as_deref())?;
    let proxy = net::Proxy::bind(
        &listens,
        routes,
        watcher.decider(),
        effects,
        &args.node,
        std::time::Duration::from_millis(args.failover_timeout_ms),
    )?;
    let proxy = Arc::new(proxy);
    for line in proxy.describe() {
        println!("{line}");
    }
    println!(
        "e911-harness proxy: ready (engine {}, bundle revision {})",
        watcher.engine(),
        watcher.revision()
    );
    net::start(&proxy)?;
    watcher.run(&proxy)
}

/// Locks a mutex, carrying on after a panic elsewhere (the data is plain state).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
