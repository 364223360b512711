//! `e911-decider`: `--engine component|native|proxy-wasm`, who decides, behind one call
//! that returns the engine's `Verdict` whichever it is.
//!
//! Both load the policy through [`policy_source::load`] first, so a bad folder or bundle
//! gives the same one-line error whichever engine runs. The component then gets the
//! compiled bundle bytes: the file as given, or a source folder compiled here
//! (`Policy::write_bundle(None)`); so does the Envoy build under the harness's proxy-wasm
//! host, inline in its plugin configuration (what it recovers of a verdict:
//! [`e911_proxy_wasm_host::decide`]).
//!
//! Depends on the plugin crates, `e911-component-host`, `e911-proxy-wasm-host` and
//! `e911-host-files`; the CLI (`run`, `explain`, `demo`) and the SIP proxy depend on it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use e911_component_host::{ComponentHost, ComponentRuntime, HostLimits};
use e911_engine::{CallCtx, Engine, MemoryStore, Verdict};
use e911_policy::{Policy, PublicKey};
use e911_proxy_wasm_host::{ProxyWasmDecider, ProxyWasmRuntime};

use e911_host_files::policy_source;

/// Where `cargo xtask build-component` writes the component.
pub const DEFAULT_COMPONENT: &str = "target/wasm/e911_policy.component.wasm";

/// Where `cargo xtask build-envoy` writes the Envoy build (a proxy-wasm module).
pub const DEFAULT_PROXY_WASM: &str = "target/wasm/e911_envoy.wasm";

/// `--engine`, `--component` and the hidden test knob for the call deadline.
#[derive(clap::Args, Debug, Clone)]
pub struct EngineArgs {
    /// Which build decides: the WebAssembly component under wasmtime, or the engine
    /// linked into the harness.
    #[arg(long, value_enum, default_value = "component")]
    pub engine: EngineArg,
    /// The component file (default: target/wasm/e911_policy.component.wasm under the
    /// current folder, else under the repository the harness was built from).
    #[arg(long)]
    pub component: Option<PathBuf>,
    /// The proxy-wasm module for `--engine proxy-wasm` (default:
    /// target/wasm/e911_envoy.wasm, found as the component is).
    #[arg(long)]
    pub proxy_wasm: Option<PathBuf>,
    /// Time limit of one component call, in milliseconds (for tests: 0 traps at once).
    #[arg(long, hide = true)]
    pub call_deadline_ms: Option<u64>,
}

/// `--engine`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineArg {
    /// The component (`target/wasm/e911_policy.component.wasm`) under wasmtime.
    Component,
    /// The engine compiled into the harness.
    Native,
    /// The Envoy build (`target/wasm/e911_envoy.wasm`) under the harness's own
    /// proxy-wasm host, with Envoy's buffer rules.
    ProxyWasm,
}

/// The engine chosen, with the callback store it decides against.
pub enum Decider {
    /// `--engine native`.
    Native {
        /// The engine (boxed: it holds the whole policy).
        engine: Box<Engine>,
        /// Its callback store.
        store: MemoryStore,
    },
    /// `--engine component`: the store lives in the host.
    Component(Box<ComponentHost<MemoryStore>>),
    /// `--engine proxy-wasm`: the store lives in the module's shared data.
    ProxyWasm(Box<ProxyWasmDecider>),
}

impl Decider {
    /// Loads the policy (and the component) as `args` say.
    pub fn new(
        args: &EngineArgs,
        policy: &Path,
        keys: &[PublicKey],
        store: MemoryStore,
    ) -> Result<Self> {
        let compiled = policy_source::load(policy, keys)?;
        if args.engine == EngineArg::Native {
            return Ok(Self::Native {
                engine: Box::new(Engine::new(compiled)),
                store,
            });
        }
        let bundle = bundle_bytes(policy, &compiled)?;
        if args.engine == EngineArg::ProxyWasm {
            // The module checks signatures against keys in its configuration, which the
            // harness does not pass: the bundle was checked against `keys` above.
            let path = artifact_path(
                args.proxy_wasm.as_deref(),
                DEFAULT_PROXY_WASM,
                "build-envoy",
            )?;
            let runtime = ProxyWasmRuntime::load(&path, args.limits())
                .map_err(|err| anyhow::anyhow!("{err}"))?;
            let revision = compiled.revision().to_owned();
            return Ok(Self::ProxyWasm(Box::new(ProxyWasmDecider::new(
                runtime, bundle, revision, store,
            ))));
        }
        let runtime = args.runtime()?;
        let mut host =
            ComponentHost::new(runtime, store).map_err(|err| anyhow::anyhow!("{err}"))?;
        let keys: Vec<[u8; 32]> = keys.iter().map(PublicKey::to_bytes).collect();
        host.configure(&bundle, &keys)
            .map_err(|err| anyhow::anyhow!("{}: {err}", policy.display()))?;
        Ok(Self::Component(Box::new(host)))
    }

    /// The verdict for one message.
    pub fn on_message(&mut self, bytes: &[u8], ctx: &CallCtx<'_>) -> Verdict {
        match self {
            Self::Native { engine, store } => engine.on_message(bytes, ctx, store),
            Self::Component(host) => host.on_message(bytes, ctx),
            Self::ProxyWasm(decider) => decider.on_message(bytes, ctx),
        }
    }

    /// The callback store as it is now.
    pub fn store(&self) -> Option<&MemoryStore> {
        match self {
            Self::Native { store, .. } => Some(store),
            Self::Component(host) => host.callbacks(),
            Self::ProxyWasm(decider) => Some(decider.callbacks()),
        }
    }
}

impl EngineArgs {
    /// Loads the component `--component` names (or the default) with the limits these
    /// arguments set; compiled once, shared by every host made from it.
    pub fn runtime(&self) -> Result<ComponentRuntime> {
        let path = artifact_path(
            self.component.as_deref(),
            DEFAULT_COMPONENT,
            "build-component",
        )?;
        ComponentRuntime::load(&path, self.limits()).map_err(|err| anyhow::anyhow!("{err}"))
    }

    /// The per-call limits these arguments set.
    fn limits(&self) -> HostLimits {
        let mut limits = HostLimits::default();
        if let Some(ms) = self.call_deadline_ms {
            limits.call_deadline = Duration::from_millis(ms);
        }
        limits
    }
}

/// The bundle bytes the component is configured with: a source folder compiled (already,
/// into `compiled`) and written unsigned, or a bundle file's bytes as they are.
pub fn bundle_bytes(policy: &Path, compiled: &Policy) -> Result<Vec<u8>> {
    if policy.is_dir() {
        compiled
            .write_bundle(None)
            .map_err(|err| anyhow::anyhow!("{}: cannot compile: {err}", policy.display()))
    } else {
        std::fs::read(policy).with_context(|| format!("{}: cannot read", policy.display()))
    }
}

/// `--component` / `--proxy-wasm`, or the default: under the current folder, else under
/// the repository this harness was built in. Missing: one line saying how to build it.
fn artifact_path(given: Option<&Path>, default: &str, xtask: &str) -> Result<PathBuf> {
    let candidates: Vec<PathBuf> = match given {
        Some(path) => vec![path.to_owned()],
        None => vec![
            PathBuf::from(default),
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(default),
        ],
    };
    match candidates.iter().find(|p| p.is_file()) {
        Some(path) => Ok(path.clone()),
        None => bail!(
            "{}: not built; build it with `cargo xtask {xtask}` (or use --engine native)",
            candidates
                .first()
                .map_or(default.into(), |p| p.display().to_string())
        ),
    }
}
