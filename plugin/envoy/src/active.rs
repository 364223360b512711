//! The engine this worker decides with, kept in step with the bundle published in shared
//! data: connections ask [`for_message`] before each message and the root asks
//! [`current`] on every tick, so a new bundle (from ECDS or the HTTP poller, on any
//! worker) applies to existing connections too, within a quarter of a second.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use e911_engine::{Engine, Failover};
use e911_policy::{Admitted, Bundle, PublicKey, Rollback};
use proxy_wasm::types::{LogLevel, Status};

use crate::shared::{self, BUNDLE_KEY, Published, SetError, Shared, publish, published_version};
use crate::{host, metrics};

/// Shared data through the host.
pub struct HostShared;

impl Shared for HostShared {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match host::shared_get(key) {
            (Some(value), Some(cas)) => Some((value, cas)),
            (Some(value), None) => Some((value, 0)),
            _ => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), SetError> {
        host::shared_set(key, value, cas).map_err(|status| match status {
            Status::CasMismatch => SetError::Conflict,
            _ => SetError::Failed,
        })
    }
}

struct Active {
    engine: Rc<Engine>,
    /// The published version this engine was built from.
    version: Vec<u8>,
}

thread_local! {
    static ACTIVE: RefCell<Option<Active>> = const { RefCell::new(None) };
    /// When this worker last compared its engine with the published bundle (ns).
    static LOOKED_AT: Cell<Option<u64>> = const { Cell::new(None) };
    /// A published version this worker refused, so it is reported once, not per message.
    static REFUSED: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A validated bundle: its engine, revision and digest.
pub struct Loaded {
    /// The engine for it.
    pub engine: Engine,
    /// `revision` from its `bundle.toml`.
    pub revision: String,
    /// SHA-256 of its payload, hex.
    pub digest: String,
    /// The warning to log while it runs, when it is unsigned.
    pub unsigned_warning: Option<String>,
}

/// Validates bundle bytes (format, digest, signature against `keys`).
pub fn load(bytes: &[u8], keys: &[PublicKey]) -> Result<Loaded, String> {
    let bundle = Bundle::load(bytes, keys).map_err(|err| err.to_string())?;
    let revision = bundle.info().revision.clone();
    let digest = bundle.info().digest_hex();
    let unsigned_warning = bundle.info().unsigned_warning();
    Ok(Loaded {
        // `tcp_proxy` cannot resend an INVITE (failover is the cluster's, per
        // connection): the later trunks' messages would never be sent.
        engine: Engine::new(bundle.into_policy()).with_failover(Failover::FirstTrunkOnly),
        revision,
        digest,
        unsigned_warning,
    })
}

/// Loads bundle bytes and applies the rollback rule against the bundle published now:
/// what every bundle source (the configuration, the HTTP poll) goes through.
pub fn load_admitted(
    bytes: &[u8],
    keys: &[PublicKey],
    rollback: Rollback,
) -> Result<(Loaded, Admitted), String> {
    let loaded = load(bytes, keys)?;
    let admitted = shared::admit(&HostShared, &loaded.revision, rollback)?;
    Ok((loaded, admitted))
}

/// Makes a validated bundle the shared one and this worker's engine. `origin` says where
/// it came from, for the log.
pub fn activate(bytes: &[u8], (loaded, admitted): (Loaded, Admitted), origin: &str) {
    let status = match publish(&HostShared, bytes, &loaded.revision, &loaded.digest) {
        Ok(Published::New) => "published",
        // An unchanged bundle (a poll without ETag support, a repeated configuration)
        // this worker already runs: nothing to do, nothing to log.
        Ok(Published::AlreadyActive)
            if mine().is_some_and(|(version, _)| version == loaded.digest.as_bytes()) =>
        {
            return;
        }
        Ok(Published::AlreadyActive) => "already published",
        Err(_) => {
            metrics::count(metrics::HOST_ERRORS);
            "active on this worker only (shared data refused it)"
        }
    };
    host::log(
        LogLevel::Info,
        &format!(
            "e911: policy bundle {} (digest {}) from {origin}: {status}",
            loaded.revision, loaded.digest
        ),
    );
    if admitted == Admitted::ForcedRollback {
        host::log(
            LogLevel::Warn,
            &format!(
                "e911: policy bundle rolled back to the older revision {} (allow_rollback)",
                loaded.revision
            ),
        );
    }
    if let Some(warning) = &loaded.unsigned_warning {
        host::log(LogLevel::Warn, &format!("e911: {warning}"));
    }
    install(loaded, None);
}

fn install(loaded: Loaded, version: Option<Vec<u8>>) {
    metrics::count(metrics::ACTIVATIONS);
    metrics::gauge(metrics::BUNDLE_DIGEST, digest_gauge(&loaded.digest));
    metrics::gauge(
        metrics::BUNDLE_UNSIGNED,
        u64::from(loaded.unsigned_warning.is_some()),
    );
    let version = version.unwrap_or_else(|| loaded.digest.clone().into_bytes());
    let active = Active {
        engine: Rc::new(loaded.engine),
        version,
    };
    let _ = ACTIVE.try_with(|a| a.try_borrow_mut().map(|mut a| *a = Some(active)));
}

/// The first six bytes of a hex digest as a number: a gauge shows which bundle is active.
pub fn digest_gauge(digest: &str) -> u64 {
    digest
        .get(..12)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or(0)
}

/// This worker's engine and the version it was built from.
fn mine() -> Option<(Vec<u8>, Rc<Engine>)> {
    ACTIVE
        .try_with(|a| {
            a.try_borrow().ok().and_then(|a| {
                a.as_ref()
                    .map(|a| (a.version.clone(), Rc::clone(&a.engine)))
            })
        })
        .ok()
        .flatten()
}

/// How often a worker that has an engine compares it with the published bundle while
/// messages flow. Every message would cost a shared-data read (a host call and a copy)
/// for a change that comes a few times a day; a worker also looks on every tick (1 s)
/// and takes a bundle it configured or polled itself at once.
const LOOK_EVERY_NS: u64 = 250_000_000;

/// The engine to decide a message with at `now_ns`: this worker's, looking at the
/// published bundle first ([`current`]) if it has not for [`LOOK_EVERY_NS`].
pub fn for_message(keys: &[PublicKey], now_ns: u64) -> Option<Rc<Engine>> {
    let looked = LOOKED_AT.try_with(Cell::get).ok().flatten();
    if let Some(at) = looked
        && now_ns.saturating_sub(at) < LOOK_EVERY_NS
        && let Some(engine) = engine()
    {
        return Some(engine);
    }
    let _ = LOOKED_AT.try_with(|l| l.set(Some(now_ns)));
    current(keys)
}

/// This worker's engine, as it is (no look for a newer bundle).
pub fn engine() -> Option<Rc<Engine>> {
    ACTIVE
        .try_with(|a| {
            a.try_borrow()
                .ok()
                .and_then(|a| a.as_ref().map(|a| Rc::clone(&a.engine)))
        })
        .ok()
        .flatten()
}

/// The engine for the bundle published now, loading it first if it changed since this
/// worker last looked. `None` before any bundle. A published bundle this worker cannot
/// load (a key it does not trust) leaves the previous engine in place, reported once.
pub fn current(keys: &[PublicKey]) -> Option<Rc<Engine>> {
    let published = published_version(&HostShared);
    let have = mine();
    let Some(version) = published else {
        return have.map(|(_, engine)| engine);
    };
    if let Some((built_from, engine)) = &have
        && *built_from == version
    {
        return Some(Rc::clone(engine));
    }
    if REFUSED
        .try_with(|r| r.try_borrow().is_ok_and(|r| *r == version))
        .unwrap_or(false)
    {
        return have.map(|(_, engine)| engine);
    }
    // The version read above, not the bundle's own digest, is what this worker now has
    // acted on: if two publications interleave, it loads once and waits for the next.
    let bytes = HostShared
        .get(BUNDLE_KEY)
        .map(|(b, _)| b)
        .unwrap_or_default();
    match load(&bytes, keys) {
        Ok(loaded) => {
            host::log(
                LogLevel::Info,
                &format!(
                    "e911: policy bundle {} (digest {}) now active on this worker",
                    loaded.revision, loaded.digest
                ),
            );
            install(loaded, Some(version));
            mine().map(|(_, engine)| engine)
        }
        Err(why) => {
            metrics::count(metrics::RELOAD_FAILURES);
            host::log(
                LogLevel::Error,
                &format!("e911: published policy bundle refused, previous one stays: {why}"),
            );
            let _ = REFUSED.try_with(|r| r.try_borrow_mut().map(|mut r| *r = version));
            have.map(|(_, engine)| engine)
        }
    }
}
