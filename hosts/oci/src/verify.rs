//! What a pull trusts: nothing until checked. Every blob against the digest and size its
//! descriptor names, the manifest against the digest the registry reported (and the one a
//! `@sha256:` reference pins), and a policy bundle against its own payload digest, the
//! trusted keys (unsigned is refused when keys are configured) and the revision its
//! manifest announced. A module's or component's signature in the registry is checked
//! in [`super::signature`]; sizes are bounded as bytes arrive, in [`super::limits`].

use anyhow::Result;
use e911_policy::{Bundle, PublicKey};
use oci_client::manifest::{OciDescriptor, OciImageManifest};
use sha2::{Digest as _, Sha256};

use super::layout::REVISION_ANNOTATION;

/// Marks an error as content we refuse (as against a registry we could not reach): a
/// follower does not pull a refused digest again, but retries after a transport failure.
#[derive(Debug)]
pub struct Refused;

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("refused")
    }
}

impl std::error::Error for Refused {}

/// `what: refused`, as an error a follower recognises.
pub fn refused(what: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::new(Refused).context(what.to_string())
}

/// Whether `err` is a refusal of content.
pub fn is_refused(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| cause.is::<Refused>())
}

/// Lower-case hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut hex, byte| {
            let _ = write!(hex, "{byte:02x}");
            hex
        })
}

/// `bytes` are what `digest` (`sha256:<hex>`) names; other algorithms are refused.
pub fn digest_matches(what: &str, digest: &str, bytes: &[u8]) -> Result<()> {
    let Some(expected) = digest.strip_prefix("sha256:") else {
        return Err(refused(format!("{what}: digest {digest} is not sha256")));
    };
    let actual = sha256_hex(bytes);
    if actual != expected {
        return Err(refused(format!(
            "{what}: content has digest sha256:{actual}, expected {digest}"
        )));
    }
    Ok(())
}

/// A blob is what its descriptor says: digest and size.
pub fn blob(what: &str, descriptor: &OciDescriptor, bytes: &[u8]) -> Result<()> {
    if usize::try_from(descriptor.size).ok() != Some(bytes.len()) {
        return Err(refused(format!(
            "{what}: {} bytes, the manifest says {}",
            bytes.len(),
            descriptor.size
        )));
    }
    digest_matches(what, &descriptor.digest, bytes)
}

/// A pulled policy bundle: its payload digest and signature (against `keys`; unsigned is
/// refused when there are keys), and the revision the manifest announced.
pub fn bundle(bytes: &[u8], keys: &[PublicKey], manifest: &OciImageManifest) -> Result<Bundle> {
    let bundle =
        Bundle::load(bytes, keys).map_err(|err| refused(format!("policy bundle: {err}")))?;
    let revision = bundle.info().revision.clone();
    let announced = manifest
        .annotations
        .as_ref()
        .and_then(|a| a.get(REVISION_ANNOTATION));
    if let Some(announced) = announced
        && *announced != revision
    {
        return Err(refused(format!(
            "the manifest announces revision {announced} but the bundle holds {revision}"
        )));
    }
    Ok(bundle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_checks_name_both_values() {
        let bytes = b"hello";
        let good = format!("sha256:{}", sha256_hex(bytes));
        assert!(digest_matches("layer", &good, bytes).is_ok());
        let err = digest_matches("layer", &good, b"hellp")
            .unwrap_err()
            .to_string();
        assert!(err.contains(&good), "{err}");
        assert!(is_refused(
            &digest_matches("layer", &good, b"x").unwrap_err()
        ));
        assert!(digest_matches("layer", "md5:00", bytes).is_err());
    }

    #[test]
    fn sha256_hex_is_the_known_value() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
