//! `e911-oci`: distribution through OCI registries: `e911-harness oci push|pull|inspect`,
//! the registry follower behind `proxy --policy oci://…` and `bundle serve`.
//!
//! Depends on the plugin crate `e911-policy`, on `e911-host-files` (`--trust-key` files)
//! and on `e911-http` (`bundle serve`'s server); tokio, oci-client, reqwest, tar and
//! flate2 stay inside it. The SIP proxy (its `oci://` follower) and the CLI depend on it.
//!
//! - [`layout`]: the four artifact kinds (proxy-wasm module in the CNCF Wasm layout and in
//!   Istio's tar+gzip layout, the WIT component, the policy bundle) and their media types.
//! - [`client`]: a blocking client over oci-client (a current-thread tokio runtime lives
//!   inside it and nowhere else).
//! - [`auth`]: anonymous, or Basic credentials from the environment or a Docker config.
//! - [`limits`]: how big a manifest, blob or unpacked layer may be, enforced as it streams.
//! - [`manifest`]: manifest GETs read chunk by chunk within the manifest limit.
//! - [`verify`]: digests of every blob and manifest; a bundle's signature.
//! - [`signature`]: Ed25519 signatures over module and component manifest digests, stored
//!   as OCI 1.1 referrers under the referrers tag schema.
//! - [`follow`]: polls a tag's manifest digest, pulls and verifies on change.
//! - [`serve`]: `bundle serve`, the HTTP mirror with ETags for Envoy's bundle poller.

pub mod auth;
pub mod client;
pub mod follow;
pub mod layout;
pub mod limits;
pub mod manifest;
pub mod serve;
pub mod signature;
pub mod verify;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use layout::Kind;

/// How to reach a registry.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RegistryArgs {
    /// Talk plain HTTP to the registry instead of HTTPS (a registry on loopback, in tests).
    #[arg(long)]
    pub insecure: bool,
    /// How much a pull may read.
    #[command(flatten)]
    pub limits: limits::LimitArgs,
}

/// How a followed policy is looked at, and what a new one may replace.
#[derive(clap::Args, Debug, Clone)]
pub struct FollowArgs {
    /// Seconds between two looks at the tag's manifest digest (a HEAD request each).
    #[arg(long, default_value = "10", value_parser = parse_seconds)]
    pub poll_seconds: Duration,
    /// Accept a bundle whose revision is older than the running one (a deliberate
    /// rollback); without it such a bundle is refused and the running one stays.
    #[arg(long)]
    pub allow_rollback: bool,
}

impl FollowArgs {
    /// The rollback rule `--allow-rollback` chooses.
    pub fn rollback(&self) -> e911_policy::Rollback {
        if self.allow_rollback {
            e911_policy::Rollback::Allow
        } else {
            e911_policy::Rollback::Refuse
        }
    }
}

/// A positive, finite number of seconds (`Duration::from_secs_f64` would panic otherwise).
fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text}: not a number of seconds"))?;
    match Duration::try_from_secs_f64(secs) {
        Ok(d) if !d.is_zero() => Ok(d),
        _ => Err(format!("{text}: must be more than 0 seconds")),
    }
}

/// `e911-harness oci …`.
#[derive(clap::Subcommand, Debug)]
pub enum OciCommand {
    /// Push a module, a component or a policy bundle to `oci://REGISTRY/REPO:TAG`.
    Push {
        /// What FILE is: `module` (pushed in the CNCF layout to TAG and in Istio's layout
        /// to the --istio-tag), `component`, or `bundle`.
        #[arg(value_enum)]
        kind: PushKind,
        /// The .wasm or bundle file.
        file: PathBuf,
        /// Where: `oci://REGISTRY/REPO:TAG`.
        reference: String,
        /// For `module`: the tag for Istio's layout (default: TAG-istio).
        #[arg(long)]
        istio_tag: Option<String>,
        /// For `bundle`: public key files; the bundle must be signed by one of them.
        #[arg(long = "trust-key")]
        trust_keys: Vec<PathBuf>,
        /// For `module` and `component`: a secret key file (`bundle keygen`) to sign each
        /// pushed manifest with, stored as an OCI referrer a pull with --trust-key checks.
        /// A bundle carries its own signature (`bundle build --sign-key`).
        #[arg(long, value_name = "KEY")]
        sign_key: Option<PathBuf>,
        /// Registry connection.
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Pull an artifact, check every digest and its signature (a module's or component's
    /// in the registry, a bundle's embedded one), write its file.
    Pull {
        /// `oci://REGISTRY/REPO:TAG` or `…@sha256:DIGEST`.
        reference: String,
        /// Where to write the module, component or bundle.
        #[arg(short, long)]
        out: PathBuf,
        /// Public key files (64 hex digits, as `bundle keygen` writes): a bundle, or the
        /// registry signature of a module or component, must be by one of them. Without
        /// any, a module or component is taken unverified, with a warning.
        #[arg(long = "trust-key")]
        trust_keys: Vec<PathBuf>,
        /// Registry connection.
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Pull and check an artifact; print its manifest digest, kind, media types and
    /// annotations.
    Inspect {
        /// `oci://REGISTRY/REPO:TAG` or `…@sha256:DIGEST`.
        reference: String,
        /// Public key files; a bundle's signature is checked against them.
        #[arg(long = "trust-key")]
        trust_keys: Vec<PathBuf>,
        /// Registry connection.
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

/// What `oci push` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum PushKind {
    /// A proxy-wasm core module (`target/wasm/e911_envoy.wasm`).
    Module,
    /// A WIT component (`target/wasm/e911_policy.component.wasm`).
    Component,
    /// A compiled policy bundle (`e911-harness bundle build`).
    Bundle,
}

/// Runs one `oci` subcommand; returns what to print.
pub fn run(command: &OciCommand) -> Result<String> {
    match command {
        OciCommand::Push {
            kind,
            file,
            reference,
            istio_tag,
            trust_keys,
            sign_key,
            registry,
        } => push(
            *kind,
            file,
            reference,
            istio_tag.as_deref(),
            (trust_keys, sign_key.as_deref()),
            registry,
        ),
        OciCommand::Pull {
            reference,
            out,
            trust_keys,
            registry,
        } => {
            let (pulled, verified) = pull_checked(reference, trust_keys, registry)?;
            std::fs::write(out, &pulled.file)
                .with_context(|| format!("{}: cannot write", out.display()))?;
            Ok(format!(
                "{}: {} from {reference} ({}), {} bytes, sha256:{}{}",
                out.display(),
                pulled.kind.name(),
                pulled.digest,
                pulled.file.len(),
                verify::sha256_hex(&pulled.file),
                match verified {
                    Verified::Bundle(r) => format!(", revision {r}"),
                    Verified::SignedBy(id) => format!(", signed by key {id}"),
                    Verified::Unverified => ", unverified".to_owned(),
                }
            ))
        }
        OciCommand::Inspect {
            reference,
            trust_keys,
            registry,
        } => {
            let (pulled, verified) = pull_checked(reference, trust_keys, registry)?;
            Ok(describe(reference, &pulled, &verified))
        }
    }
}

fn push(
    kind: PushKind,
    file: &std::path::Path,
    spec: &str,
    istio_tag: Option<&str>,
    (trust_keys, sign_key): (&[PathBuf], Option<&std::path::Path>),
    args: &RegistryArgs,
) -> Result<String> {
    let signing = match (kind, sign_key) {
        (PushKind::Bundle, Some(_)) => bail!(
            "--sign-key: a bundle carries its own signature; sign it with `bundle build --sign-key`"
        ),
        (_, Some(key)) => Some(signature::read_signing_key(key)?),
        (_, None) => None,
    };
    let bytes = std::fs::read(file).with_context(|| format!("{}: cannot read", file.display()))?;
    let what = |err: anyhow::Error| anyhow::anyhow!("{}: {err:#}", file.display());
    let reference = client::parse_reference(spec)?;
    let registry = client::Registry::connect(&reference, args)?;
    let mut lines = Vec::new();
    let mut push_one =
        |reference: &oci_client::Reference, artifact: &layout::Artifact, kind: Kind| {
            let digest = registry.push(reference, artifact)?;
            lines.push(format!(
                "oci://{}: {} {digest}",
                reference.whole(),
                kind.name()
            ));
            if let Some(key) = &signing {
                let tag = registry.sign(reference, &digest, key)?;
                lines.push(format!(
                    "oci://{}: {digest} signed by key {}, listed under the referrers tag {tag}",
                    reference.whole(),
                    key.key_id
                ));
            }
            Ok::<_, anyhow::Error>(())
        };
    match kind {
        PushKind::Module => {
            push_one(
                &reference,
                &layout::module(&bytes).map_err(what)?,
                Kind::Module,
            )?;
            let tag = match istio_tag {
                Some(tag) => tag.to_owned(),
                None => format!("{}-istio", reference.tag().unwrap_or("latest")),
            };
            let istio_ref = oci_client::Reference::with_tag(
                reference.registry().to_owned(),
                reference.repository().to_owned(),
                tag,
            );
            push_one(
                &istio_ref,
                &layout::istio(&bytes).map_err(what)?,
                Kind::Istio,
            )?;
        }
        PushKind::Component => {
            push_one(
                &reference,
                &layout::component(&bytes).map_err(what)?,
                Kind::Component,
            )?;
        }
        PushKind::Bundle => {
            // Refuse to publish what a follower with the same keys would refuse.
            let keys = e911_host_files::policy_source::read_keys(trust_keys)?;
            e911_policy::Bundle::load(&bytes, &keys)
                .map_err(|err| anyhow::anyhow!("{}: {err}; not pushed", file.display()))?;
            push_one(
                &reference,
                &layout::bundle(&bytes).map_err(what)?,
                Kind::Bundle,
            )?;
        }
    }
    Ok(lines.join("\n"))
}

/// What a pull verified beyond digests.
enum Verified {
    /// A bundle's embedded signature (or none, when no keys were given): its revision.
    Bundle(String),
    /// A module's or component's registry signature, by this trusted key id.
    SignedBy(String),
    /// A module or component taken without keys.
    Unverified,
}

/// Pulls and checks: a bundle against the keys by its own signature, a module or component
/// by its signature in the registry; without keys, a module or component is taken with a
/// warning on stderr.
fn pull_checked(
    spec: &str,
    trust_keys: &[PathBuf],
    args: &RegistryArgs,
) -> Result<(client::Pulled, Verified)> {
    let reference = client::parse_reference(spec)?;
    let keys = e911_host_files::policy_source::read_keys(trust_keys)?;
    let registry = client::Registry::connect(&reference, args)?;
    let in_context = |err: anyhow::Error| anyhow::anyhow!("{spec}: {err:#}");
    let pulled = registry.pull(&reference).map_err(in_context)?;
    let verified = match pulled.kind {
        Kind::Bundle => Verified::Bundle(
            verify::bundle(&pulled.file, &keys, &pulled.manifest)
                .map_err(in_context)?
                .info()
                .revision
                .clone(),
        ),
        _ if keys.is_empty() => {
            eprintln!(
                "e911-harness: warning: {spec}: {} {} is UNVERIFIED: no --trust-key given, so anyone who can push to this repository could have replaced it",
                pulled.kind.name(),
                pulled.digest
            );
            Verified::Unverified
        }
        _ => Verified::SignedBy(
            registry
                .signer(&reference, &pulled.digest, &keys)
                .map_err(in_context)?
                .key_id(),
        ),
    };
    Ok((pulled, verified))
}

fn describe(spec: &str, pulled: &client::Pulled, verified: &Verified) -> String {
    let mut out = format!(
        "{spec}\n  manifest   {}\n  kind       {}\n",
        pulled.digest,
        pulled.kind.name()
    );
    if let Some(artifact_type) = &pulled.manifest.artifact_type {
        out.push_str(&format!("  artifact   {artifact_type}\n"));
    }
    out.push_str(&format!(
        "  config     {} {}\n",
        pulled.manifest.config.media_type, pulled.manifest.config.digest
    ));
    for layer in &pulled.manifest.layers {
        out.push_str(&format!(
            "  layer      {} {} ({} bytes)\n",
            layer.media_type, layer.digest, layer.size
        ));
    }
    if let Ok(config) = serde_json::from_slice::<layout::WasmConfig>(&pulled.config) {
        out.push_str(&format!("  os         {}\n", config.os));
        if let Some(world) = &config.component {
            out.push_str(&format!("  exports    {}\n", world.exports.join(", ")));
            out.push_str(&format!("  imports    {}\n", world.imports.join(", ")));
        }
    }
    for (key, value) in pulled.manifest.annotations.iter().flatten() {
        out.push_str(&format!("  annotation {key}={value}\n"));
    }
    match verified {
        Verified::Bundle(revision) => {
            out.push_str(&format!("  verified   bundle revision {revision}\n"));
        }
        Verified::SignedBy(key_id) => {
            out.push_str(&format!("  verified   signed by key {key_id}\n"));
        }
        Verified::Unverified => out.push_str("  verified   NO (no --trust-key given)\n"),
    }
    out.trim_end().to_owned()
}
