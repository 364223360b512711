//! Hot reload: the policy origin (a bundle file, every file of a source folder, or a
//! registry tag: [`policy_origin`](super::policy_origin)) is polled; a change is rebuilt
//! and validated, and the new decider replaces the old one between two messages. A broken
//! source is refused with every problem (file:line) logged, and the previous policy stays
//! active; so does a registry that cannot be reached, and so does a bundle older than the
//! running one (`e911_policy::admit`, unless `--allow-rollback`). An unsigned policy is
//! warned about at start and at every reload. The state is written to
//! `--state-dir/status.json` after every poll; `e911-harness status` prints it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use e911_component_host::ComponentRuntime;
use e911_engine::Engine;
use e911_policy::{Admitted, DialPlan, PublicKey, Rollback};
use serde::{Deserialize, Serialize};

use super::ProxyArgs;
use super::callbacks::{Callbacks, SharedCallbacks};
use super::decide::{Component, Decide, Native, Pool};
use super::net::Proxy;
use super::policy_origin::{Change, Loaded, Origin};
use e911_decider::EngineArg;

/// How often the source is looked at (a registry origin: how often it is asked whether
/// its own poll interval has passed).
const POLL: Duration = Duration::from_millis(250);

/// The deciders the proxy uses (`None`: `--no-plugin`), swapped whole on reload.
pub type Slot = Option<Arc<Pool>>;

/// What `status.json` holds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Status {
    /// The policy source watched.
    pub policy: String,
    /// Whether messages go through the plugin.
    pub plugin: bool,
    /// Who decides: `component` or `native` (`--engine`).
    #[serde(default)]
    pub engine: String,
    /// The bundle revision in force.
    pub active_revision: String,
    /// Who signed it: a key id, or `unsigned`.
    #[serde(default)]
    pub signature: String,
    /// When it was loaded (seconds since the Unix epoch).
    pub last_success_at: u64,
    /// The last refused reload (every problem on its own line) or registry failure.
    pub last_error: Option<String>,
    /// When that was.
    pub last_error_at: Option<u64>,
    /// Reloads accepted and refused since start.
    pub reloads: u64,
    /// Reloads refused since start.
    pub refused: u64,
    /// Counter name → value (the verdicts' metrics and the proxy's own).
    pub metrics: BTreeMap<String, u64>,
    /// With `--etcd`: whether the replicated callback store answers, its latency, and
    /// how many calls were decided without it.
    #[serde(default)]
    pub callback_store: Option<e911_etcd::Health>,
}

/// Watches the policy source and owns the decider slot.
pub struct Watcher {
    origin: Origin,
    keys: Vec<PublicKey>,
    rollback: Rollback,
    callbacks: SharedCallbacks,
    /// The component, compiled once at start (`None`: `--engine native`).
    runtime: Option<ComponentRuntime>,
    slot: Slot,
    status: Status,
    status_path: Option<PathBuf>,
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Watcher {
    /// Loads the policy (a broken one at start is an error), opens the callback store.
    pub fn start(args: &ProxyArgs, keys: Vec<PublicKey>) -> Result<Self> {
        if args.engine.engine == EngineArg::ProxyWasm {
            // The Envoy build runs inside Envoy (tests/envoy), or one message at a time
            // under `run --engine proxy-wasm`; this proxy frames and decides itself.
            anyhow::bail!(
                "--engine proxy-wasm is for run, explain and demo; the proxy takes --engine component or native"
            );
        }
        let (origin, loaded) = Origin::open(args, &keys)?;
        let (callbacks, warning) = Callbacks::open(
            args.state_dir.as_ref().map(|d| d.join("callbacks.json")),
            &args.etcd,
        )?;
        if let Some(warning) = warning {
            eprintln!("e911-harness proxy: warning: {warning}");
        }
        callbacks.start_sync()?;
        let revision = loaded.policy.revision().to_owned();
        let signature = signature(&loaded);
        let component = args.engine.engine == EngineArg::Component;
        let runtime = if component && !args.no_plugin {
            Some(args.engine.runtime()?)
        } else {
            None
        };
        let mut watcher = Self {
            origin,
            keys,
            rollback: args.follow.rollback(),
            callbacks,
            runtime,
            status: Status {
                policy: args.policy.display().to_string(),
                plugin: !args.no_plugin,
                engine: if component { "component" } else { "native" }.to_owned(),
                active_revision: revision,
                signature,
                last_success_at: now(),
                ..Status::default()
            },
            slot: None,
            status_path: args.state_dir.as_ref().map(|d| d.join("status.json")),
        };
        if let Some(warning) = loaded.unsigned_warning() {
            eprintln!("e911-harness proxy: {warning}");
        }
        if !args.no_plugin {
            let (deciders, dial_plan) = watcher
                .decider_for(loaded)
                .with_context(|| format!("{}", args.policy.display()))?;
            let serialize = !watcher.callbacks.replicated();
            watcher.slot = Some(Arc::new(Pool::new(deciders, dial_plan, serialize)));
        }
        Ok(watcher)
    }

    /// The pool's deciders for the engine chosen at start over a policy just loaded from
    /// the source, and the policy's emergency numbers.
    fn decider_for(&self, loaded: Loaded) -> Result<(Vec<Box<dyn Decide>>, DialPlan)> {
        let Loaded { policy, bundle, .. } = loaded;
        let dial_plan = policy.dial_plan();
        let size = Pool::size();
        let deciders = match &self.runtime {
            None => {
                let engine = Arc::new(Engine::new(policy));
                (0..size)
                    .map(|_| {
                        Box::new(Native::new(Arc::clone(&engine), self.callbacks.clone()))
                            as Box<dyn Decide>
                    })
                    .collect()
            }
            Some(runtime) => {
                let bundle = match (bundle, self.origin.path()) {
                    (Some(bytes), _) => bytes,
                    (None, Some(path)) => e911_decider::bundle_bytes(path, &policy)?,
                    (None, None) => anyhow::bail!("the registry origin gave no bundle bytes"),
                };
                (0..size)
                    .map(|_| {
                        Component::new(runtime, self.callbacks.clone(), &bundle, &self.keys)
                            .map(|c| Box::new(c) as Box<dyn Decide>)
                    })
                    .collect::<Result<_>>()?
            }
        };
        Ok((deciders, dial_plan))
    }

    /// The engine deciding: `component` or `native`.
    pub fn engine(&self) -> &str {
        &self.status.engine
    }

    /// The decider slot for the proxy.
    pub fn decider(&self) -> Slot {
        self.slot.clone()
    }

    /// The revision in force.
    pub fn revision(&self) -> &str {
        &self.status.active_revision
    }

    /// Polls forever.
    pub fn run(mut self, proxy: &Proxy) -> Result<()> {
        loop {
            std::thread::sleep(POLL);
            match self.origin.poll(&self.keys) {
                Change::None => {}
                Change::Load(loaded) => self.reload(loaded),
                Change::Unreachable(why) => {
                    // Not a refused reload: nothing new arrived; the policy in force stays.
                    eprintln!(
                        "e911-harness proxy: {why}; revision {} stays active",
                        self.status.active_revision
                    );
                    self.status.last_error = Some(why);
                    self.status.last_error_at = Some(now());
                }
                Change::Reachable(origin) => {
                    eprintln!("e911-harness proxy: {origin} reachable again");
                }
            }
            proxy.prune();
            for conflict in self.callbacks.take_conflicts() {
                eprintln!(
                    "e911-harness proxy: ELIN {} was given to two calls during an etcd outage; {} keeps it, {} is displaced",
                    conflict.elin, conflict.kept_call_id, conflict.displaced_call_id
                );
                proxy.record(&CallbackConflict {
                    event: "callback-conflict",
                    conflict,
                });
            }
            self.status.callback_store = self.callbacks.health();
            self.status.metrics = proxy.metrics();
            self.write_status();
        }
    }

    fn reload(&mut self, loaded: Result<Box<Loaded>>) {
        let Some(slot) = self.slot.clone() else {
            return;
        };
        self.status.reloads += 1;
        let built = loaded.and_then(|loaded| {
            let admitted = self.admit(&loaded)?;
            let signature = signature(&loaded);
            let warning = loaded.unsigned_warning();
            let (deciders, dial_plan) = self.decider_for(*loaded)?;
            Ok((deciders, dial_plan, admitted, signature, warning))
        });
        match built {
            Ok((deciders, dial_plan, admitted, signature, warning)) => {
                let revision = deciders
                    .first()
                    .map(|d| d.revision().to_owned())
                    .unwrap_or_default();
                slot.replace(deciders, dial_plan);
                let forced = match admitted {
                    Admitted::ForcedRollback => " (an older revision: --allow-rollback)",
                    _ => "",
                };
                eprintln!(
                    "e911-harness proxy: policy reloaded: revision {} (was {}){forced}",
                    revision, self.status.active_revision
                );
                if let Some(warning) = warning {
                    eprintln!("e911-harness proxy: {warning}");
                }
                self.status.active_revision = revision;
                self.status.signature = signature;
                self.status.last_success_at = now();
            }
            Err(err) => {
                let text = format!("{err:#}");
                eprintln!(
                    "e911-harness proxy: policy reload refused; revision {} stays active:\n{text}",
                    self.status.active_revision
                );
                self.status.refused += 1;
                self.status.last_error = Some(text);
                self.status.last_error_at = Some(now());
            }
        }
    }

    /// The rollback rule, the same for every host: a policy older than the running one is
    /// refused unless `--allow-rollback`.
    fn admit(&self, loaded: &Loaded) -> Result<Admitted> {
        e911_policy::admit(
            Some(&self.status.active_revision),
            loaded.policy.revision(),
            self.rollback,
        )
        .map_err(|older| {
            anyhow::anyhow!(
                "{}: {older}; start the proxy with --allow-rollback to accept it",
                self.status.policy
            )
        })
    }

    fn write_status(&self) {
        let Some(path) = &self.status_path else {
            return;
        };
        let write = || -> Result<()> {
            let json = serde_json::to_vec_pretty(&self.status)?;
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, path)?;
            Ok(())
        };
        if let Err(err) = write() {
            eprintln!(
                "e911-harness proxy: {}: status not written: {err:#}",
                path.display()
            );
        }
    }
}

/// The audit line for two calls given one ELIN while the replicas could not reach etcd.
#[derive(Serialize)]
struct CallbackConflict {
    event: &'static str,
    #[serde(flatten)]
    conflict: e911_etcd::Conflict,
}

/// `signed by KEY-ID`, or `unsigned`, for the status.
fn signature(loaded: &Loaded) -> String {
    match &loaded.signer {
        Some(key_id) => format!("signed by {key_id}"),
        None => "unsigned".to_owned(),
    }
}

/// `e911-harness status --state-dir DIR`: the proxy's status file for a person.
pub fn print_status(state_dir: &Path) -> Result<()> {
    let path = state_dir.join("status.json");
    let bytes = std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
    let status: Status = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a status file", path.display()))?;
    println!("policy           {}", status.policy);
    println!(
        "plugin           {}",
        if status.plugin {
            "on"
        } else {
            "off (--no-plugin)"
        }
    );
    if status.plugin && !status.engine.is_empty() {
        println!("engine           {}", status.engine);
    }
    println!(
        "active revision  {} (loaded {})",
        status.active_revision,
        e911_engine::time::rfc3339(status.last_success_at)
    );
    if !status.signature.is_empty() {
        println!("signature        {}", status.signature);
    }
    println!(
        "reloads          {} ({} refused)",
        status.reloads, status.refused
    );
    match (&status.last_error, status.last_error_at) {
        (Some(err), at) => {
            let at = at.map(e911_engine::time::rfc3339).unwrap_or_default();
            println!("last error       at {at}:");
            for line in err.lines() {
                println!("  {line}");
            }
        }
        _ => println!("last error       none"),
    }
    if let Some(store) = &status.callback_store {
        println!(
            "callback store   etcd, {} (p50 {} µs, p99 {} µs); {} pending, {} decided without it, {} races lost, {} conflicts",
            if store.reachable {
                "reachable"
            } else {
                "unreachable"
            },
            store.latency_p50_us,
            store.latency_p99_us,
            store.pending,
            store.counters.fallbacks,
            store.counters.lost_races,
            store.counters.conflicts,
        );
        if let Some(err) = &store.last_error {
            println!("  {err}");
        }
    }
    for (name, value) in &status.metrics {
        println!("{name:<32} {value}");
    }
    Ok(())
}
