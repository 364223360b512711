//! The compiled bundle: one binary artifact that plugins load.
//!
//! ```text
//! offset  size  field (integers little-endian)
//!  0       8    magic "E911BNDL"
//!  8       2    format version (2)
//! 10       2    flags: bit 0 = signed
//! 12       2    revision length n
//! 14       n    revision, UTF-8
//!  …       8    payload length
//!  …      32    SHA-256 of the payload
//!  …      32    signer's Ed25519 public key   } only when signed
//!  …      64    Ed25519 signature              }
//!  …       …    payload (postcard)
//! ```
//!
//! The signature covers a domain-separation label and every header byte before the key:
//! magic, version, flags, revision, payload length and digest. The digest covers the
//! payload, so a signature vouches for all of it. Loading checks, in order: size, magic,
//! version, truncation, digest, signature, then decodes and checks every index.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use e911_location::lis::{KeyedTable, NetworkMap, PrefixTable};

use crate::keys::{PublicKey, SecretKey, hex};
use crate::model::{Caller, Counts, Erl, LocationPolicy, Route, Settings, Site};
use crate::policy::{Parts, Policy};

/// The first bytes of every bundle.
pub const MAGIC: [u8; 8] = *b"E911BNDL";
/// The format this crate writes and reads.
pub const FORMAT_VERSION: u16 = 3;
/// The largest bundle a loader accepts. The threat: a hostile or broken distribution
/// endpoint exhausting the plugin's memory. A million network elements take ~30 MiB.
pub const MAX_BUNDLE_BYTES: usize = 256 << 20;

const FLAG_SIGNED: u16 = 1;
const SIGNATURE_CONTEXT: &[u8] = b"e911-policy bundle signature v1\0";

/// Why a bundle was refused. Each is a different operator action, so each is its own variant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// Larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// The size given.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Does not start with [`MAGIC`]: not a bundle.
    #[error("not a policy bundle (wrong magic bytes)")]
    BadMagic,
    /// A format version this build cannot read.
    #[error(
        "bundle format version {0} is not supported (this build reads version {FORMAT_VERSION}): rebuild it from its sources with `e911-harness bundle build`"
    )]
    UnsupportedVersion(u16),
    /// Shorter than its header says.
    #[error("bundle is truncated")]
    Truncated,
    /// The payload does not match the digest in the header.
    #[error("bundle content does not match its digest")]
    DigestMismatch,
    /// Keys are configured and the bundle carries no signature.
    #[error("bundle is unsigned, but signing keys are configured")]
    Unsigned,
    /// Signed by a key that is not among the trusted ones.
    #[error("bundle is signed by key {key_id}, which is not trusted")]
    UntrustedSigner {
        /// The signer's key id.
        key_id: String,
    },
    /// The signature does not verify.
    #[error("bundle signature does not verify")]
    BadSignature,
    /// The header or payload is well signed but malformed (a writer bug or a forged key).
    #[error("bundle content is malformed: {0}")]
    Malformed(&'static str),
}

/// Why a policy could not be written as a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The revision is longer than the header allows.
    #[error("revision is longer than 65535 bytes")]
    RevisionTooLong,
    /// Serialization failed.
    #[error("could not encode the bundle: {0}")]
    Encode(String),
}

/// A bundle's header, as read (and checked: digest, and signature when loaded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleInfo {
    /// Format version.
    pub format_version: u16,
    /// The revision from `bundle.toml`.
    pub revision: String,
    /// SHA-256 of the payload.
    pub digest: [u8; 32],
    /// The signer's public key, when signed.
    pub signer: Option<PublicKey>,
    /// Total size in bytes.
    pub size: usize,
}

impl BundleInfo {
    /// The digest as 64 hex digits.
    pub fn digest_hex(&self) -> String {
        hex(&self.digest)
    }

    /// The signer's key id, when signed.
    pub fn signer_key_id(&self) -> Option<String> {
        self.signer.map(|k| k.key_id())
    }

    /// The warning every host logs, at load and at each reload, while it runs an unsigned
    /// bundle: without a signature, whoever can write the policy source decides where
    /// emergency calls go. `None` for a signed bundle.
    pub fn unsigned_warning(&self) -> Option<String> {
        self.signer
            .is_none()
            .then(|| unsigned_warning(&self.revision))
    }
}

/// The unsigned-bundle warning for `revision` (see [`BundleInfo::unsigned_warning`]), for
/// hosts that only have the revision in hand.
pub fn unsigned_warning(revision: &str) -> String {
    format!(
        "WARNING: policy bundle revision {revision} is unsigned: nothing proves who wrote it; sign it (`e911-harness bundle build --sign-key`) and configure the public key as a trusted key"
    )
}

/// `revision 2026.11.1, sha256 3f…, signed by 1a2b…` for status lines.
impl core::fmt::Display for BundleInfo {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "revision {}, sha256 {}, ",
            self.revision,
            self.digest_hex()
        )?;
        match self.signer_key_id() {
            Some(id) => write!(f, "signed by {id}"),
            None => f.write_str("unsigned"),
        }
    }
}

/// A loaded, verified bundle: its header facts and the [`Policy`] inside.
#[derive(Debug, Clone)]
pub struct Bundle {
    info: BundleInfo,
    policy: Policy,
}

impl Bundle {
    /// Loads and verifies a bundle. With `trusted` keys, only bundles signed by one of them
    /// load; with none, unsigned bundles load and a signed one is still checked against the
    /// key it names.
    pub fn load(bytes: &[u8], trusted: &[PublicKey]) -> Result<Self, LoadError> {
        let (info, payload) = read_header(bytes)?;
        match (info.signer, trusted.is_empty()) {
            (None, false) => return Err(LoadError::Unsigned),
            (Some(key), false) if !trusted.contains(&key) => {
                return Err(LoadError::UntrustedSigner {
                    key_id: key.key_id(),
                });
            }
            _ => {}
        }
        let payload: Payload = postcard::from_bytes(payload)
            .map_err(|_| LoadError::Malformed("payload does not decode"))?;
        if payload.settings.revision != info.revision {
            return Err(LoadError::Malformed("header and payload revisions differ"));
        }
        let policy = payload.into_policy()?;
        Ok(Self { info, policy })
    }

    /// Reads and checks the header and digest (and signature, against the key it names)
    /// without decoding the payload: for `bundle inspect`.
    pub fn inspect(bytes: &[u8]) -> Result<BundleInfo, LoadError> {
        read_header(bytes).map(|(info, _)| info)
    }

    /// Header facts: revision, digest, signer.
    pub fn info(&self) -> &BundleInfo {
        &self.info
    }

    /// How much the bundle holds.
    pub fn counts(&self) -> Counts {
        self.policy.counts()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The policy, owned.
    pub fn into_policy(self) -> Policy {
        self.policy
    }
}

impl Policy {
    /// Writes this policy as a bundle, signed when a key is given.
    pub fn write_bundle(&self, signer: Option<&SecretKey>) -> Result<Vec<u8>, WriteError> {
        let payload = postcard::to_allocvec(&PayloadRef::of(self))
            .map_err(|e| WriteError::Encode(e.to_string()))?;
        write_envelope(&self.settings.revision, &payload, signer)
    }
}

/// The header around an encoded payload, with its digest and, given a key, signature.
/// Public in fuzzing builds only: the fuzzer seals payloads it mutated, so that its inputs
/// get past the digest and signature to the decoder (`fuzz/fuzz_targets/bundle_load.rs`).
#[cfg(fuzzing)]
pub fn write_envelope_for_fuzzing(
    revision: &str,
    payload: &[u8],
    signer: Option<&SecretKey>,
) -> Result<Vec<u8>, WriteError> {
    write_envelope(revision, payload, signer)
}

fn write_envelope(
    revision: &str,
    payload: &[u8],
    signer: Option<&SecretKey>,
) -> Result<Vec<u8>, WriteError> {
    let revision = revision.as_bytes();
    let revision_len = u16::try_from(revision.len()).map_err(|_| WriteError::RevisionTooLong)?;
    let flags = if signer.is_some() { FLAG_SIGNED } else { 0 };
    let mut out = Vec::with_capacity(payload.len() + revision.len() + 160);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&flags.to_le_bytes());
    out.extend_from_slice(&revision_len.to_le_bytes());
    out.extend_from_slice(revision);
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&Sha256::digest(payload));
    if let Some(key) = signer {
        let signature = key.sign(&signed_message(&out));
        out.extend_from_slice(&key.public_key().to_bytes());
        out.extend_from_slice(&signature);
    }
    out.extend_from_slice(payload);
    Ok(out)
}

fn signed_message(header: &[u8]) -> Vec<u8> {
    [SIGNATURE_CONTEXT, header].concat()
}

/// A cursor over the header that reports truncation instead of panicking.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], LoadError> {
        let end = self.at.checked_add(n).ok_or(LoadError::Truncated)?;
        let slice = self.bytes.get(self.at..end).ok_or(LoadError::Truncated)?;
        self.at = end;
        Ok(slice)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], LoadError> {
        self.take(N)?.try_into().map_err(|_| LoadError::Truncated)
    }
}

fn read_header(bytes: &[u8]) -> Result<(BundleInfo, &[u8]), LoadError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(LoadError::TooLarge {
            size: bytes.len(),
            max: MAX_BUNDLE_BYTES,
        });
    }
    let mut c = Cursor { bytes, at: 0 };
    let magic_len = bytes.len().min(MAGIC.len());
    if bytes.get(..magic_len) != MAGIC.get(..magic_len) {
        return Err(LoadError::BadMagic);
    }
    c.take(MAGIC.len())?;
    let version = u16::from_le_bytes(c.array()?);
    if version != FORMAT_VERSION {
        return Err(LoadError::UnsupportedVersion(version));
    }
    let flags = u16::from_le_bytes(c.array()?);
    let revision_len = usize::from(u16::from_le_bytes(c.array()?));
    let revision = core::str::from_utf8(c.take(revision_len)?)
        .map_err(|_| LoadError::Malformed("revision is not UTF-8"))?;
    let payload_len =
        usize::try_from(u64::from_le_bytes(c.array()?)).map_err(|_| LoadError::Truncated)?;
    let digest: [u8; 32] = c.array()?;
    let signed_end = c.at;
    let signer = if flags & FLAG_SIGNED != 0 {
        let key: [u8; 32] = c.array()?;
        let signature: [u8; 64] = c.array()?;
        let key = PublicKey::from_bytes(key).map_err(|_| LoadError::BadSignature)?;
        let header = bytes.get(..signed_end).ok_or(LoadError::Truncated)?;
        if !key.verify(&signed_message(header), &signature) {
            return Err(LoadError::BadSignature);
        }
        Some(key)
    } else {
        None
    };
    let payload = c.take(payload_len)?;
    if c.at != bytes.len() {
        return Err(LoadError::Malformed("bytes after the payload"));
    }
    if Sha256::digest(payload).as_slice() != digest {
        return Err(LoadError::DigestMismatch);
    }
    let info = BundleInfo {
        format_version: version,
        revision: revision.to_owned(),
        digest,
        signer,
        size: bytes.len(),
    };
    Ok((info, payload))
}

/// The payload as written: borrowed from a [`Policy`].
#[derive(Serialize)]
struct PayloadRef<'a> {
    settings: &'a Settings,
    counts: &'a Counts,
    erls: &'a [Erl],
    policies: &'a [LocationPolicy],
    routes: &'a [Route],
    sites: &'a [Site],
    callers: &'a [Caller],
    network: MapRef<'a>,
    site_map: MapRef<'a>,
    trusted: MapRef<'a>,
    carriers: Option<MapRef<'a>>,
}

impl<'a> PayloadRef<'a> {
    fn of(p: &'a Policy) -> Self {
        Self {
            settings: &p.settings,
            counts: &p.counts,
            erls: &p.erls,
            policies: &p.policies,
            routes: &p.routes,
            sites: &p.sites,
            callers: &p.callers,
            network: MapRef::of(&p.network),
            site_map: MapRef::of(&p.site_map),
            trusted: MapRef::of(&p.trusted),
            carriers: p.carriers.as_ref().map(MapRef::of),
        }
    }
}

/// The payload as read; field for field the same as [`PayloadRef`].
#[derive(Deserialize)]
struct Payload {
    settings: Settings,
    counts: Counts,
    erls: Vec<Erl>,
    policies: Vec<LocationPolicy>,
    routes: Vec<Route>,
    sites: Vec<Site>,
    callers: Vec<Caller>,
    network: MapOwned,
    site_map: MapOwned,
    trusted: MapOwned,
    carriers: Option<MapOwned>,
}

type Keyed = Vec<(Box<str>, u32)>;

#[derive(Serialize)]
struct MapRef<'a> {
    /// Prefix tables as (breakpoints, values), serialized as `MapOwned`'s are.
    v4: (Vec<u32>, Vec<u32>),
    v6: (Vec<u128>, Vec<u32>),
    bssids: (Vec<u64>, Vec<u32>),
    /// Sorted by key, serialized as a `Keyed` is.
    chassis: Vec<(&'a str, u32)>,
    ports: Vec<(&'a str, u32)>,
}

impl<'a> MapRef<'a> {
    fn of(map: &'a NetworkMap) -> Self {
        let t = map.tables();
        Self {
            v4: t.v4.parts(),
            v6: t.v6.parts(),
            bssids: t.bssids.parts(),
            chassis: t.chassis.entries(),
            ports: t.ports.entries(),
        }
    }
}

#[derive(Deserialize)]
struct MapOwned {
    v4: (Vec<u32>, Vec<u32>),
    v6: (Vec<u128>, Vec<u32>),
    bssids: (Vec<u64>, Vec<u32>),
    chassis: Keyed,
    ports: Keyed,
}

impl MapOwned {
    /// Rebuilds the map, checking every value is a valid index below `limit`.
    fn into_map(self, limit: usize) -> Result<NetworkMap, LoadError> {
        let bad = LoadError::Malformed("a network table is out of order or points past its list");
        let values = self.v4.1.iter().chain(&self.v6.1).chain(&self.bssids.1);
        let keyed = self.chassis.iter().chain(&self.ports).map(|(_, v)| v);
        // u32::MAX marks a stretch no prefix covers (see PrefixTable).
        if !values
            .chain(keyed)
            .all(|&v| v == u32::MAX || (v as usize) < limit)
        {
            return Err(bad);
        }
        let ordered =
            |keys: &[(Box<str>, u32)]| keys.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0));
        if !ordered(&self.chassis) || !ordered(&self.ports) {
            return Err(bad);
        }
        Ok(NetworkMap::from_tables(
            PrefixTable::from_parts(self.v4.0, self.v4.1).ok_or(bad.clone())?,
            PrefixTable::from_parts(self.v6.0, self.v6.1).ok_or(bad.clone())?,
            PrefixTable::from_parts(self.bssids.0, self.bssids.1).ok_or(bad)?,
            KeyedTable::build(self.chassis),
            KeyedTable::build(self.ports),
        ))
    }
}

impl Payload {
    fn into_policy(self) -> Result<Policy, LoadError> {
        let (erls, policies, routes, sites) = (
            self.erls.len(),
            self.policies.len(),
            self.routes.len(),
            self.sites.len(),
        );
        let below = |i: Option<u32>, n: usize| i.is_none_or(|i| (i as usize) < n);
        let indices_ok = (self.settings.global_policy as usize) < policies
            && self.policies.iter().all(|p| {
                below(p.route, routes)
                    && below(p.ecrc_route, routes)
                    && p.numbers.iter().all(|n| below(n.route, routes))
            })
            && self.routes.iter().all(|r| !r.hops.is_empty())
            && self.sites.iter().all(|s| (s.policy as usize) < policies)
            && self
                .callers
                .iter()
                .all(|c| below(c.policy, policies) && below(c.location, erls));
        if !indices_ok {
            return Err(LoadError::Malformed(
                "a policy, route, site or caller points past its list",
            ));
        }
        // The sources compiler refuses coordinates out of range (`sources/erls.rs`); a
        // bundle is held to the same rule, or a NaN would reach the PIDF-LO writer.
        if self
            .erls
            .iter()
            .filter_map(|e| e.point.as_ref())
            .any(|p| p.check().is_err())
        {
            return Err(LoadError::Malformed(
                "an ERL's point is out of range or not a number",
            ));
        }
        Ok(Policy::assemble(Parts {
            network: self.network.into_map(erls)?,
            site_map: self.site_map.into_map(sites)?,
            trusted: self.trusted.into_map(1)?,
            carriers: self.carriers.map(|c| c.into_map(1)).transpose()?,
            settings: self.settings,
            erls: self.erls,
            policies: self.policies,
            routes: self.routes,
            sites: self.sites,
            callers: self.callers,
            counts: self.counts,
        }))
    }
}

#[cfg(test)]
#[path = "bundle_tests.rs"]
mod tests;
