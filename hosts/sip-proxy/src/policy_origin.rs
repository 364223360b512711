//! Where the proxy's policy comes from, and how a change is noticed:
//!
//! - **files** (`--policy DIR|BUNDLE`): the source is fingerprinted (path, mtime, size of
//!   each file) every tick; a change is loaded once it has stayed unchanged for one tick,
//!   so a folder caught half-written is not loaded.
//! - **registry** (`--policy oci://REGISTRY/REPO:TAG`): a [`Follower`] looks at the tag's
//!   manifest digest every `--poll-seconds` and pulls and verifies on change. The last
//!   good bundle is kept in `--state-dir/registry.bundle`, so a proxy restarted while the
//!   registry is down starts with it (checked against the keys again) instead of not at
//!   all.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result};
use e911_host_files::policy_source;
use e911_policy::{Bundle, Policy, PublicKey};

use super::ProxyArgs;
use e911_oci::follow::{Follower, Update};

/// The cache of the last good registry bundle, under `--state-dir`.
const REGISTRY_CACHE: &str = "registry.bundle";

/// A policy just loaded, with the bundle bytes when the origin had them in hand.
pub struct Loaded {
    /// The compiled policy.
    pub policy: Policy,
    /// The bundle file's bytes (registry); `None` for files, read when needed.
    pub bundle: Option<Vec<u8>>,
    /// The signer's key id; `None`: unsigned (a source folder, or an unsigned bundle).
    pub signer: Option<String>,
}

impl Loaded {
    /// The warning to log while this policy runs unsigned.
    pub fn unsigned_warning(&self) -> Option<String> {
        self.signer
            .is_none()
            .then(|| e911_policy::unsigned_warning(self.policy.revision()))
    }

    fn from_files(loaded: policy_source::Loaded) -> Self {
        Self {
            policy: loaded.policy,
            bundle: None,
            signer: loaded.signer,
        }
    }

    fn from_bundle(bundle: Bundle, bytes: Vec<u8>) -> Self {
        Self {
            signer: bundle.info().signer_key_id(),
            policy: bundle.into_policy(),
            bundle: Some(bytes),
        }
    }
}

/// What one tick found.
pub enum Change {
    /// Nothing new.
    None,
    /// A new policy (boxed: a compiled policy is large), or why the new source was
    /// refused.
    Load(Result<Box<Loaded>>),
    /// The registry could not be reached; the policy in force stays.
    Unreachable(String),
    /// The registry answers again (what it names is what is in force).
    Reachable(String),
}

type Fingerprint = Vec<(PathBuf, Option<SystemTime>, u64)>;

/// The policy's origin.
pub enum Origin {
    /// A source folder or bundle file.
    Files {
        /// The folder or file.
        path: PathBuf,
        /// The fingerprint of what is loaded.
        seen: Fingerprint,
        /// A changed fingerprint waiting one tick to settle.
        pending: Option<Fingerprint>,
    },
    /// A registry tag.
    Registry {
        /// The follower.
        follower: Box<Follower>,
        /// Where the last good bundle is kept.
        cache: Option<PathBuf>,
    },
}

fn fingerprint(source: &Path) -> Fingerprint {
    let files: Vec<PathBuf> = if source.is_dir() {
        std::fs::read_dir(source)
            .map(|dir| dir.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default()
    } else {
        vec![source.to_owned()]
    };
    let mut print: Fingerprint = files
        .into_iter()
        .map(|path| {
            let meta = std::fs::metadata(&path).ok();
            let modified = meta.as_ref().and_then(|m| m.modified().ok());
            let len = meta.map_or(0, |m| m.len());
            (path, modified, len)
        })
        .collect();
    print.sort();
    print
}

impl Origin {
    /// Opens the origin `--policy` names and loads the policy in it (an error at start:
    /// there is no previous policy to keep).
    pub fn open(args: &ProxyArgs, keys: &[PublicKey]) -> Result<(Self, Loaded)> {
        let spec = args.policy.to_string_lossy();
        if !spec.starts_with("oci://") {
            let path = args.policy.clone();
            let loaded = Loaded::from_files(policy_source::load_signed(&path, keys)?);
            let seen = fingerprint(&path);
            let origin = Self::Files {
                path,
                seen,
                pending: None,
            };
            return Ok((origin, loaded));
        }
        let mut follower = Follower::new(&spec, &args.registry, &args.follow, keys.to_vec())?;
        let cache = args.state_dir.as_ref().map(|d| d.join(REGISTRY_CACHE));
        let loaded = match follower.pull_now() {
            Ok(followed) => {
                let loaded = Loaded::from_bundle(followed.bundle, followed.bytes);
                save(cache.as_deref(), &loaded);
                loaded
            }
            Err(err) => match &cache {
                Some(path) if path.is_file() => {
                    let loaded = from_cache(path, keys)?;
                    eprintln!(
                        "e911-harness proxy: warning: {spec}: {err:#}; starting with the last good bundle {} (revision {})",
                        path.display(),
                        loaded.policy.revision()
                    );
                    loaded
                }
                _ => return Err(err.context(format!("{spec}: no policy to start with"))),
            },
        };
        let origin = Self::Registry {
            follower: Box::new(follower),
            cache,
        };
        Ok((origin, loaded))
    }

    /// The source folder or file, for origins that are files.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Self::Files { path, .. } => Some(path),
            Self::Registry { .. } => None,
        }
    }

    /// One tick: whether there is something new to load.
    pub fn poll(&mut self, keys: &[PublicKey]) -> Change {
        match self {
            Self::Files {
                path,
                seen,
                pending,
            } => {
                let current = fingerprint(path);
                if pending.as_ref() == Some(&current) {
                    *pending = None;
                    *seen = current;
                    let loaded = policy_source::load_signed(path, keys)
                        .map(|loaded| Box::new(Loaded::from_files(loaded)));
                    Change::Load(loaded)
                } else {
                    *pending = (current != *seen).then_some(current);
                    Change::None
                }
            }
            Self::Registry { follower, cache } => match follower.poll() {
                Update::Unchanged => Change::None,
                Update::New(followed) => {
                    let followed = *followed;
                    let loaded = Loaded::from_bundle(followed.bundle, followed.bytes);
                    save(cache.as_deref(), &loaded);
                    Change::Load(Ok(Box::new(loaded)))
                }
                Update::Refused(why) => Change::Load(Err(anyhow::anyhow!(why))),
                Update::Unreachable(why) => Change::Unreachable(why),
                Update::Reachable => Change::Reachable(follower.spec().to_owned()),
            },
        }
    }
}

/// Keeps the last good registry bundle; a failure to write it is logged, nothing else.
fn save(cache: Option<&Path>, loaded: &Loaded) {
    let (Some(path), Some(bytes)) = (cache, &loaded.bundle) else {
        return;
    };
    let tmp = path.with_extension("tmp");
    let written = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if let Err(err) = written {
        eprintln!(
            "e911-harness proxy: {}: last good bundle not kept: {err}",
            path.display()
        );
    }
}

fn from_cache(path: &Path, keys: &[PublicKey]) -> Result<Loaded> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let bundle =
        Bundle::load(&bytes, keys).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    Ok(Loaded::from_bundle(bundle, bytes))
}
