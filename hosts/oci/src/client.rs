//! A blocking registry client: oci-client driven by a current-thread tokio runtime owned
//! here, so every other crate stays synchronous and tokio never leaves this crate (the
//! HTTP server of `e911-http` has a runtime of its own).

use std::time::Duration;

use anyhow::{Context, Result, bail};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::layout::{self, Artifact, Kind};
use super::limits::{BoundedSink, Limits};
use super::manifest::{FetchError, ManifestClient};
use super::signature::{self, SigningKey};
use super::{RegistryArgs, auth, verify};

/// How long to wait for a registry to accept a connection; a poller must not hang on a
/// registry that is down.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a read may stall.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// `oci://REGISTRY/REPO:TAG` (the scheme is optional) as a reference.
pub fn parse_reference(spec: &str) -> Result<Reference> {
    let bare = spec.strip_prefix("oci://").unwrap_or(spec);
    let reference: Reference = bare
        .parse()
        .map_err(|err| anyhow::anyhow!("{spec}: not a registry reference: {err}"))?;
    if !bare.starts_with(reference.registry()) {
        bail!("{spec}: name the registry: oci://HOST[:PORT]/REPOSITORY:TAG");
    }
    Ok(reference)
}

/// A pulled artifact, every part checked against its digest.
pub struct Pulled {
    /// The manifest's digest (`sha256:…`).
    pub digest: String,
    /// The manifest.
    pub manifest: OciImageManifest,
    /// The config blob.
    pub config: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// The file it carries (for Istio's layout, `plugin.wasm` taken out of the layer).
    pub file: Vec<u8>,
}

/// One registry connection with its credentials.
pub struct Registry {
    client: Client,
    auth: RegistryAuth,
    /// Where the credentials came from (for messages).
    pub auth_source: String,
    limits: Limits,
    manifests: ManifestClient,
    runtime: tokio::runtime::Runtime,
}

impl Registry {
    /// A client for the registry `reference` names: plain HTTP only with `--insecure`.
    pub fn connect(reference: &Reference, args: &RegistryArgs) -> Result<Self> {
        let (auth, auth_source) = auth::for_registry(reference.registry())?;
        let config = ClientConfig {
            protocol: if args.insecure {
                ClientProtocol::Http
            } else {
                ClientProtocol::Https
            },
            connect_timeout: Some(CONNECT_TIMEOUT),
            read_timeout: Some(READ_TIMEOUT),
            ..ClientConfig::default()
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the registry client's runtime")?;
        Ok(Self {
            client: Client::new(config),
            auth,
            auth_source,
            limits: Limits::from(&args.limits),
            manifests: ManifestClient::new(args.insecure, CONNECT_TIMEOUT, READ_TIMEOUT)?,
            runtime,
        })
    }

    /// Pushes an artifact (blobs, then the manifest under the reference's tag); returns the
    /// manifest digest the registry reports.
    pub fn push(&self, reference: &Reference, artifact: &Artifact) -> Result<String> {
        self.runtime
            .block_on(self.client.push(
                reference,
                &artifact.layers,
                artifact.config.clone(),
                &self.auth,
                Some(artifact.manifest.clone()),
            ))
            .map_err(|err| self.explain(reference, "push", err))?;
        self.digest(reference)
    }

    /// The digest of the manifest the reference names now (one HEAD request; a bounded
    /// GET if the registry does not say).
    pub fn digest(&self, reference: &Reference) -> Result<String> {
        let digest = self
            .runtime
            .block_on(self.manifests.digest(
                &self.client,
                &self.auth,
                reference,
                OCI_IMAGE_MEDIA_TYPE,
                self.limits.manifest,
            ))
            .map_err(|err| match err {
                FetchError::Refused(err) => err,
                FetchError::Registry(err) => self.explain(reference, "look up", err),
            })?;
        if let Some(pinned) = reference.digest()
            && pinned != digest
        {
            return Err(verify::refused(format!(
                "manifest: registry names {digest} for {pinned}"
            )));
        }
        Ok(digest)
    }

    /// Pulls the manifest, its config and its one layer, checking each against its digest
    /// and its size against the descriptor and the limits.
    pub fn pull(&self, reference: &Reference) -> Result<Pulled> {
        let (digest, manifest) = self.manifest(reference)?;
        let config = self.blob(
            reference,
            "config",
            &manifest.config,
            (self.limits.manifest, "--max-manifest-bytes"),
        )?;
        let kind = layout::classify(&manifest, &config)
            .map_err(|err| verify::refused(format!("{err:#}")))?;
        let limit = self.limits.layer(kind);
        let layer = match manifest.layers.first() {
            Some(layer) => self.blob(reference, "layer", layer, limit)?,
            None => return Err(verify::refused("manifest has no layer")),
        };
        let file = layout::unpack(kind, &layer, limit)
            .map_err(|err| verify::refused(format!("{err:#}")))?;
        Ok(Pulled {
            digest,
            manifest,
            config,
            kind,
            file,
        })
    }

    /// The image manifest `reference` names, with its digest, checked against that digest
    /// (and the one a `@sha256:` reference pins).
    pub fn manifest(&self, reference: &Reference) -> Result<(String, OciImageManifest)> {
        let (digest, raw) = self.manifest_raw(reference, OCI_IMAGE_MEDIA_TYPE)?;
        let manifest: OciImageManifest = serde_json::from_slice(&raw).map_err(|err| {
            verify::refused(format!("manifest: not an OCI image manifest: {err}"))
        })?;
        Ok((digest, manifest))
    }

    /// A manifest's bytes (of `media_type`) and digest, read within the manifest limit and
    /// checked (against the digest a `@sha256:` reference pins, too).
    pub fn manifest_raw(
        &self,
        reference: &Reference,
        media_type: &str,
    ) -> Result<(String, Vec<u8>)> {
        match self.fetch_manifest(reference, media_type)? {
            Some(found) => Ok(found),
            None => Err(self.explain(
                reference,
                "pull",
                oci_client::errors::OciDistributionError::ImageManifestNotFoundError(
                    "the registry has no such manifest".to_owned(),
                ),
            )),
        }
    }

    /// [`Registry::manifest_raw`], or `None` when the registry has no such manifest.
    fn fetch_manifest(
        &self,
        reference: &Reference,
        media_type: &str,
    ) -> Result<Option<(String, Vec<u8>)>> {
        use oci_client::errors::{OciDistributionError as E, OciErrorCode};
        let fetched = self.runtime.block_on(self.manifests.fetch(
            &self.client,
            &self.auth,
            reference,
            media_type,
            self.limits.manifest,
        ));
        let raw = match fetched {
            Ok(raw) => raw,
            Err(FetchError::Refused(err)) => return Err(err),
            Err(FetchError::Registry(
                E::ImageManifestNotFoundError(_) | E::ServerError { code: 404, .. },
            )) => return Ok(None),
            Err(FetchError::Registry(E::RegistryError { envelope, .. }))
                if envelope.errors.iter().any(|e| {
                    matches!(
                        e.code,
                        OciErrorCode::ManifestUnknown | OciErrorCode::NotFound
                    )
                }) =>
            {
                return Ok(None);
            }
            Err(FetchError::Registry(err)) => return Err(self.explain(reference, "pull", err)),
        };
        if let Some(pinned) = reference.digest()
            && pinned != raw.digest
        {
            return Err(verify::refused(format!(
                "manifest: registry served {} for {pinned}",
                raw.digest
            )));
        }
        Ok(Some((raw.digest, raw.bytes)))
    }

    /// One blob, streamed: refused before the request when its descriptor declares more
    /// than `limit`, and during it as soon as more bytes arrive than the descriptor
    /// declares; oci-client hashes it as it arrives and the digest is checked at its end.
    pub fn blob(
        &self,
        reference: &Reference,
        what: &str,
        descriptor: &OciDescriptor,
        (limit, option): (u64, &str),
    ) -> Result<Vec<u8>> {
        let Ok(declared) = u64::try_from(descriptor.size) else {
            return Err(verify::refused(format!(
                "{what} {}: the manifest declares a negative size",
                descriptor.digest
            )));
        };
        if declared > limit {
            return Err(verify::refused(format!(
                "{what} {}: the manifest declares {declared} bytes, more than the {limit}-byte limit ({option})",
                descriptor.digest
            )));
        }
        let mut sink = BoundedSink::new(declared);
        let pulled = self
            .runtime
            .block_on(self.client.pull_blob(reference, descriptor, &mut sink));
        if sink.exceeded() {
            return Err(verify::refused(format!(
                "{what} {}: the registry sent more than the {declared} bytes the manifest declares; stopped reading",
                descriptor.digest
            )));
        }
        pulled.map_err(|err| match err {
            oci_client::errors::OciDistributionError::DigestError(_) => {
                verify::refused(format!("{what} {}: {err}", descriptor.digest))
            }
            err => self.explain(reference, &format!("fetch the {what}"), err),
        })?;
        let bytes = sink.into_bytes();
        verify::blob(what, descriptor, &bytes)?;
        Ok(bytes)
    }

    /// Signs the manifest `digest` in `reference`'s repository and lists the signature
    /// under the referrers tag (see [`signature`]); returns that tag.
    pub fn sign(&self, reference: &Reference, digest: &str, key: &SigningKey) -> Result<String> {
        let at = |what: &str| {
            Reference::with_digest(
                reference.registry().to_owned(),
                reference.repository().to_owned(),
                what.to_owned(),
            )
        };
        let (_, subject) = self.manifest_raw(&at(digest), signature::IMAGE_MANIFEST_MEDIA_TYPE)?;
        let sig = signature::sign(key, digest);
        for blob in [signature::EMPTY_JSON, &sig[..]] {
            let blob_digest = format!("sha256:{}", verify::sha256_hex(blob));
            self.runtime
                .block_on(
                    self.client
                        .push_blob(reference, blob.to_vec(), &blob_digest),
                )
                .map_err(|err| self.explain(reference, "push the signature to", err))?;
        }
        let manifest = signature::signature_manifest((digest, subject.len()), &sig, &key.key_id);
        let manifest_digest = format!("sha256:{}", verify::sha256_hex(&manifest));
        self.put_manifest(
            &at(&manifest_digest),
            manifest.clone(),
            signature::IMAGE_MANIFEST_MEDIA_TYPE,
        )?;
        let tag = signature::referrers_tag(digest)?;
        let index_ref = Reference::with_tag(
            reference.registry().to_owned(),
            reference.repository().to_owned(),
            tag.clone(),
        );
        let existing = self.referrers_index(&index_ref)?;
        let index = signature::index_with(existing.as_deref(), &manifest, &key.key_id)?;
        self.put_manifest(&index_ref, index, signature::IMAGE_INDEX_MEDIA_TYPE)?;
        Ok(tag)
    }

    /// The trusted key that signed the manifest `digest` (found through its referrers
    /// tag); refused when nothing listed there verifies against `keys`.
    pub fn signer(
        &self,
        reference: &Reference,
        digest: &str,
        keys: &[e911_policy::PublicKey],
    ) -> Result<e911_policy::PublicKey> {
        let tag = signature::referrers_tag(digest).map_err(verify::refused)?;
        let index_ref = Reference::with_tag(
            reference.registry().to_owned(),
            reference.repository().to_owned(),
            tag.clone(),
        );
        let Some(index) = self.referrers_index(&index_ref)? else {
            return Err(verify::refused(format!(
                "{digest} is unsigned (no referrers tag {tag}), but --trust-key was given; sign it with `oci push --sign-key`"
            )));
        };
        let listed = signature::listed_signatures(&index)?;
        if listed.is_empty() {
            return Err(verify::refused(format!(
                "{digest} is unsigned (its referrers tag {tag} lists no {} artifact), but --trust-key was given",
                signature::SIGNATURE_ARTIFACT_TYPE
            )));
        }
        let mut why = Vec::new();
        for (sig_digest, _) in &listed {
            match self.signature_bytes(reference, sig_digest, digest) {
                Ok(bytes) => match signature::verified_by(keys, digest, &bytes) {
                    Some(key) => return Ok(*key),
                    None => why.push(format!("{sig_digest}: not by a trusted key")),
                },
                Err(err) => why.push(format!("{sig_digest}: {err:#}")),
            }
        }
        Err(verify::refused(format!(
            "{digest}: no signature verifies with the trusted keys ({})",
            why.join("; ")
        )))
    }

    fn signature_bytes(
        &self,
        reference: &Reference,
        sig_digest: &str,
        subject: &str,
    ) -> Result<Vec<u8>> {
        let at = Reference::with_digest(
            reference.registry().to_owned(),
            reference.repository().to_owned(),
            sig_digest.to_owned(),
        );
        let (_, raw) = self.manifest_raw(&at, signature::IMAGE_MANIFEST_MEDIA_TYPE)?;
        let manifest: OciImageManifest = serde_json::from_slice(&raw)
            .map_err(|err| verify::refused(format!("not an OCI image manifest: {err}")))?;
        let layer = signature::signature_layer(&manifest, subject).map_err(verify::refused)?;
        self.blob(
            reference,
            "signature",
            layer,
            (signature::SIGNATURE_LEN as u64, "the signature size"),
        )
    }

    /// The referrers index under `index_ref`'s tag, or `None` when there is no such tag.
    fn referrers_index(&self, index_ref: &Reference) -> Result<Option<Vec<u8>>> {
        Ok(self
            .fetch_manifest(index_ref, signature::IMAGE_INDEX_MEDIA_TYPE)?
            .map(|(_, bytes)| bytes))
    }

    /// Stores `body` (a manifest of `media_type`) under `at`.
    fn put_manifest(&self, at: &Reference, body: Vec<u8>, media_type: &str) -> Result<()> {
        let content_type = http::HeaderValue::from_str(media_type)
            .map_err(|err| anyhow::anyhow!("{media_type}: {err}"))?;
        self.runtime
            .block_on(self.client.push_manifest_raw(at, body, content_type))
            .map_err(|err| self.explain(at, "push", err))?;
        Ok(())
    }

    /// One line for a failed registry call: what, where, why, and a hint for the usual
    /// causes (credentials, plain HTTP).
    fn explain(
        &self,
        reference: &Reference,
        action: &str,
        err: oci_client::errors::OciDistributionError,
    ) -> anyhow::Error {
        use oci_client::errors::OciDistributionError as E;
        let credentials = || {
            format!(
                " (credentials: {}; set {}/{} or log in to a Docker config)",
                self.auth_source,
                auth::USERNAME_VAR,
                auth::PASSWORD_VAR
            )
        };
        let (why, hint) = match &err {
            E::AuthenticationFailure(_) | E::UnauthorizedError { .. } => {
                (err.to_string(), credentials())
            }
            // The registry's JSON error body adds nothing to the status here.
            E::ServerError {
                code: code @ (401 | 403),
                url,
                ..
            } => (format!("HTTP {code} from {url}"), credentials()),
            E::RequestError(_) => (
                err.to_string(),
                " (is the registry up? plain HTTP needs --insecure)".to_owned(),
            ),
            _ => (err.to_string(), String::new()),
        };
        anyhow::anyhow!("cannot {action} {}: {why}{hint}", reference.whole())
    }
}
