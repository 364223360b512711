//! A blocking registry client: oci-client driven by a current-thread tokio runtime owned
//! here, so the rest of the harness stays synchronous and tokio never leaves this module.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use oci_client::client::{ClientConfig, ClientProtocol};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciDescriptor, OciImageManifest};
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference};

use super::layout::{self, Artifact, Kind};
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

    /// The digest of the manifest the reference names now (one HEAD request).
    pub fn digest(&self, reference: &Reference) -> Result<String> {
        self.runtime
            .block_on(self.client.fetch_manifest_digest(reference, &self.auth))
            .map_err(|err| self.explain(reference, "look up", err))
    }

    /// Pulls the manifest, its config and its one layer, checking each against its digest.
    pub fn pull(&self, reference: &Reference) -> Result<Pulled> {
        let (raw, digest) = self
            .runtime
            .block_on(
                self.client
                    .pull_manifest_raw(reference, &self.auth, &[OCI_IMAGE_MEDIA_TYPE]),
            )
            .map_err(|err| self.explain(reference, "pull", err))?;
        verify::digest_matches("manifest", &digest, &raw)?;
        if let Some(pinned) = reference.digest()
            && pinned != digest
        {
            return Err(verify::refused(format!(
                "manifest: registry served {digest} for {pinned}"
            )));
        }
        let manifest: OciImageManifest = serde_json::from_slice(&raw).map_err(|err| {
            verify::refused(format!("manifest: not an OCI image manifest: {err}"))
        })?;
        let config = self.blob(reference, "config", &manifest.config)?;
        let kind = layout::classify(&manifest, &config)
            .map_err(|err| verify::refused(format!("{err:#}")))?;
        let layer = match manifest.layers.first() {
            Some(layer) => self.blob(reference, "layer", layer)?,
            None => return Err(verify::refused("manifest has no layer")),
        };
        let file =
            layout::unpack(kind, &layer).map_err(|err| verify::refused(format!("{err:#}")))?;
        Ok(Pulled {
            digest,
            manifest,
            config,
            kind,
            file,
        })
    }

    fn blob(
        &self,
        reference: &Reference,
        what: &str,
        descriptor: &OciDescriptor,
    ) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        self.runtime
            .block_on(self.client.pull_blob(reference, descriptor, &mut bytes))
            .map_err(|err| match err {
                // oci-client hashes the blob as it arrives.
                oci_client::errors::OciDistributionError::DigestError(_) => {
                    verify::refused(format!("{what} {}: {err}", descriptor.digest))
                }
                err => self.explain(reference, &format!("fetch the {what}"), err),
            })?;
        verify::blob(what, descriptor, &bytes)?;
        Ok(bytes)
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
