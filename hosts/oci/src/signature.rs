//! Signatures for modules and components in the registry, found from the signed manifest's
//! digest alone.
//!
//! A signature is an Ed25519 signature (RFC 8032) over the signed manifest's digest string
//! as ASCII (`sha256:<64 hex>`), by the same kind of key `bundle keygen` writes. It is
//! stored as an OCI 1.1 artifact whose `subject` is the signed manifest, and listed through
//! the referrers *tag schema* (distribution-spec v1.1, "Referrers Tag Schema"), because
//! registries without the referrers API (CNCF distribution 2.8, Debian's docker-registry)
//! are the common case:
//!
//! - **signature manifest** (pushed by digest, untagged): an image manifest with
//!   `artifactType` [`SIGNATURE_ARTIFACT_TYPE`], the empty config, one layer of
//!   [`SIGNATURE_LAYER_MEDIA_TYPE`] holding the 64 signature bytes, `subject` the signed
//!   manifest's descriptor, and the signer's key id in [`KEY_ID_ANNOTATION`].
//! - **referrers index** under the tag `sha256-<hex>` of the signed digest: an image index
//!   whose `manifests` list each signature manifest with its `artifactType` and
//!   annotations. A second signature (another key) is added to the index; the same
//!   signature pushed again replaces nothing.
//!
//! Nothing in the index or the manifests is trusted: a pull with keys verifies each listed
//! signature (at most [`MAX_SIGNATURES`]) against the digest it pulled and the keys, and
//! takes the artifact only when one verifies.

use std::path::Path;

use anyhow::{Context, Result, bail};
use e911_policy::{KeyError, PublicKey};
use ed25519_dalek::Signer as _;
use oci_client::manifest::{OciImageIndex, OciImageManifest};
use serde_json::json;

use super::layout::EMPTY_MEDIA_TYPE;
use super::verify::{refused, sha256_hex};

/// `artifactType` of a signature manifest.
pub const SIGNATURE_ARTIFACT_TYPE: &str = "application/vnd.e911.signature.v1";
/// Media type of the layer holding the 64 signature bytes.
pub const SIGNATURE_LAYER_MEDIA_TYPE: &str = "application/vnd.e911.signature.ed25519.v1";
/// Annotation: the signer's key id (as `bundle keygen` and bundle headers print it).
pub const KEY_ID_ANNOTATION: &str = "io.e911.signature.key-id";
/// An OCI image index.
pub const IMAGE_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
/// An OCI image manifest.
pub const IMAGE_MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
/// The empty JSON object the empty descriptor names (image-spec v1.1).
pub const EMPTY_JSON: &[u8] = b"{}";
/// How many listed signatures a pull tries: an index is the registry's word, and a long one
/// must not make a pull verify for ever.
pub const MAX_SIGNATURES: usize = 16;
/// Ed25519 signature length.
pub const SIGNATURE_LEN: usize = 64;

/// A signing key read from a `bundle keygen` secret key file.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    /// The public key's id.
    pub key_id: String,
}

/// Reads a secret key file: 64 hex digits, as `bundle keygen` writes them.
pub fn read_signing_key(file: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("{}: cannot read", file.display()))?;
    let seed = unhex32(text.trim())
        .ok_or_else(|| anyhow::anyhow!("{}:1: {}", file.display(), KeyError::BadHex))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let key_id = PublicKey::from_bytes(key.verifying_key().to_bytes())
        .map_err(|err| anyhow::anyhow!("{}:1: {err}", file.display()))?
        .key_id();
    Ok(SigningKey { key, key_id })
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let pair = std::str::from_utf8(pair).ok()?;
        *byte = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// The referrers tag for `digest`: `sha256:<hex>` becomes `sha256-<hex>`.
pub fn referrers_tag(digest: &str) -> Result<String> {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(format!("sha256-{hex}"))
        }
        _ => bail!("{digest}: not a sha256 digest"),
    }
}

/// The signature over `digest`.
pub fn sign(key: &SigningKey, digest: &str) -> [u8; SIGNATURE_LEN] {
    key.key.sign(digest.as_bytes()).to_bytes()
}

/// The trusted key that made `signature` over `digest`, if any (strict verification,
/// RFC 8032 §5.1.7: no small-order keys, no non-canonical signatures).
pub fn verified_by<'k>(
    keys: &'k [PublicKey],
    digest: &str,
    signature: &[u8],
) -> Option<&'k PublicKey> {
    let signature: [u8; SIGNATURE_LEN] = signature.try_into().ok()?;
    let signature = ed25519_dalek::Signature::from_bytes(&signature);
    keys.iter().find(|key| {
        ed25519_dalek::VerifyingKey::from_bytes(&key.to_bytes())
            .is_ok_and(|key| key.verify_strict(digest.as_bytes(), &signature).is_ok())
    })
}

/// The signature manifest for `signature` over the manifest `subject` (`digest`, `size`),
/// as the exact bytes to push (their digest is the manifest's name).
pub fn signature_manifest(
    (digest, size): (&str, usize),
    signature: &[u8; SIGNATURE_LEN],
    key_id: &str,
) -> Vec<u8> {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_MANIFEST_MEDIA_TYPE,
        "artifactType": SIGNATURE_ARTIFACT_TYPE,
        "config": {
            "mediaType": EMPTY_MEDIA_TYPE,
            "digest": format!("sha256:{}", sha256_hex(EMPTY_JSON)),
            "size": EMPTY_JSON.len(),
            "data": "e30=",
        },
        "layers": [{
            "mediaType": SIGNATURE_LAYER_MEDIA_TYPE,
            "digest": format!("sha256:{}", sha256_hex(signature)),
            "size": SIGNATURE_LEN,
        }],
        "subject": {
            "mediaType": IMAGE_MANIFEST_MEDIA_TYPE,
            "digest": digest,
            "size": size,
        },
        "annotations": {KEY_ID_ANNOTATION: key_id},
    });
    manifest.to_string().into_bytes()
}

/// The referrers index with the signature manifest (`bytes`, `key_id`) listed: `existing`
/// (what the tag held, if anything) plus this entry, unless it is listed already.
pub fn index_with(existing: Option<&[u8]>, bytes: &[u8], key_id: &str) -> Result<Vec<u8>> {
    let digest = format!("sha256:{}", sha256_hex(bytes));
    let mut manifests = match existing {
        Some(existing) => {
            let index: serde_json::Value = serde_json::from_slice(existing)
                .context("the referrers tag holds no image index")?;
            index["manifests"].as_array().cloned().unwrap_or_default()
        }
        None => Vec::new(),
    };
    if !manifests
        .iter()
        .any(|entry| entry["digest"] == digest.as_str())
    {
        manifests.push(json!({
            "mediaType": IMAGE_MANIFEST_MEDIA_TYPE,
            "digest": digest,
            "size": bytes.len(),
            "artifactType": SIGNATURE_ARTIFACT_TYPE,
            "annotations": {KEY_ID_ANNOTATION: key_id},
        }));
    }
    Ok(json!({
        "schemaVersion": 2,
        "mediaType": IMAGE_INDEX_MEDIA_TYPE,
        "manifests": manifests,
    })
    .to_string()
    .into_bytes())
}

/// The signature manifests a referrers index lists (first [`MAX_SIGNATURES`]), as
/// `(digest, size)`.
pub fn listed_signatures(index: &[u8]) -> Result<Vec<(String, i64)>> {
    let index: OciImageIndex = serde_json::from_slice(index)
        .map_err(|err| refused(format!("referrers index: not an OCI image index: {err}")))?;
    Ok(index
        .manifests
        .into_iter()
        .filter(|entry| entry.artifact_type.as_deref() == Some(SIGNATURE_ARTIFACT_TYPE))
        .take(MAX_SIGNATURES)
        .map(|entry| (entry.digest, entry.size))
        .collect())
}

/// A pulled signature manifest is one, for `subject`: its signature layer's descriptor.
pub fn signature_layer<'m>(
    manifest: &'m OciImageManifest,
    subject: &str,
) -> Result<&'m oci_client::manifest::OciDescriptor> {
    if manifest.artifact_type.as_deref() != Some(SIGNATURE_ARTIFACT_TYPE) {
        bail!("not a signature manifest");
    }
    if manifest.subject.as_ref().map(|s| s.digest.as_str()) != Some(subject) {
        bail!("its subject is not {subject}");
    }
    match manifest.layers.as_slice() {
        [layer]
            if layer.media_type == SIGNATURE_LAYER_MEDIA_TYPE
                && layer.size == SIGNATURE_LEN as i64 =>
        {
            Ok(layer)
        }
        _ => bail!("it does not hold one {SIGNATURE_LEN}-byte {SIGNATURE_LAYER_MEDIA_TYPE} layer"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";
    const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    fn key() -> SigningKey {
        let dir = std::env::temp_dir().join(format!("e911-oci-sig-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("signing.key");
        std::fs::write(&file, format!("{SEED}\n")).unwrap();
        let key = read_signing_key(&file).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        key
    }

    #[test]
    fn a_signature_verifies_for_its_digest_and_key_only() {
        let key = key();
        let public = PublicKey::from_bytes(key.key.verifying_key().to_bytes()).unwrap();
        let other = PublicKey::from_bytes(
            ed25519_dalek::SigningKey::from_bytes(&[7; 32])
                .verifying_key()
                .to_bytes(),
        )
        .unwrap();
        let signature = sign(&key, DIGEST);
        assert_eq!(
            verified_by(&[other, public], DIGEST, &signature),
            Some(&public)
        );
        assert_eq!(verified_by(&[other], DIGEST, &signature), None);
        let moved = DIGEST.replace("e3b0", "e3b1");
        assert_eq!(verified_by(&[public], &moved, &signature), None);
        assert_eq!(verified_by(&[public], DIGEST, &signature[..63]), None);
        assert_eq!(key.key_id, public.key_id());
    }

    #[test]
    fn the_index_lists_each_signature_once_and_keeps_others() {
        let key = key();
        let one = signature_manifest((DIGEST, 500), &sign(&key, DIGEST), &key.key_id);
        let index = index_with(None, &one, &key.key_id).unwrap();
        let again = index_with(Some(&index), &one, &key.key_id).unwrap();
        assert_eq!(listed_signatures(&again).unwrap().len(), 1);
        let two = signature_manifest((DIGEST, 500), &[1; 64], "other");
        let both = index_with(Some(&again), &two, "other").unwrap();
        let listed = listed_signatures(&both).unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[1].0, format!("sha256:{}", sha256_hex(&two)));
        let manifest: OciImageManifest = serde_json::from_slice(&one).unwrap();
        assert!(signature_layer(&manifest, DIGEST).is_ok());
        let err = signature_layer(&manifest, "sha256:00").unwrap_err();
        assert!(err.to_string().contains("subject"), "{err}");
    }

    #[test]
    fn referrers_tag_follows_the_tag_schema() {
        assert_eq!(
            referrers_tag(DIGEST).unwrap(),
            DIGEST.replace("sha256:", "sha256-")
        );
        assert!(referrers_tag("sha512:00").is_err());
    }

    #[test]
    fn a_secret_key_file_that_is_not_64_hex_digits_is_named() {
        let file = std::env::temp_dir().join(format!("e911-oci-badkey-{}", std::process::id()));
        std::fs::write(&file, "xyz").unwrap();
        let err = read_signing_key(&file).err().unwrap().to_string();
        let _ = std::fs::remove_file(&file);
        assert!(
            err.ends_with(":1: expected 64 hex digits (32 bytes)"),
            "{err}"
        );
    }
}
