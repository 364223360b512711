//! The artifacts we push, as OCI image manifests (image-spec v1.1), and how a pulled one is
//! recognised and unpacked.
//!
//! - **module** — the proxy-wasm filter in the CNCF Wasm OCI artifact layout
//!   (TAG Runtime's "Wasm OCI Artifact"): one `application/wasm` layer, a config of media
//!   type `application/vnd.wasm.config.v0+json` with `architecture: "wasm"`, `os: "wasip1"`
//!   and `layerDigests`.
//! - **istio** — the same module for Istio's `WasmPlugin` (`url: oci://…`): an OCI image
//!   whose single `application/vnd.oci.image.layer.v1.tar+gzip` layer holds `plugin.wasm`,
//!   the file name Istio's image fetcher extracts.
//! - **component** — the WIT component in the CNCF layout with `os: "wasip2"` and the
//!   world's `component.exports` / `component.imports` in the config.
//! - **bundle** — a compiled, signed policy bundle as an artifact of its own
//!   (`artifactType` [`BUNDLE_ARTIFACT_TYPE`], the empty config the image-spec's artifact
//!   guidance prescribes, one layer of [`BUNDLE_LAYER_MEDIA_TYPE`]) with the bundle's
//!   revision, digest and signer as manifest annotations.
//!
//! No `created` time goes into a config: the same bytes pushed twice give the same
//! manifest digest, so a follower polling the tag does not reload for nothing.

use std::collections::BTreeMap;
use std::io::Read;

use anyhow::{Context, Result, bail};
use oci_client::client::{Config, ImageLayer};
use oci_client::manifest::{OCI_IMAGE_MEDIA_TYPE, OciImageManifest};
use serde::{Deserialize, Serialize};

/// The CNCF Wasm artifact's config media type.
pub const WASM_CONFIG_MEDIA_TYPE: &str = "application/vnd.wasm.config.v0+json";
/// The CNCF Wasm artifact's layer media type.
pub const WASM_LAYER_MEDIA_TYPE: &str = "application/wasm";
/// An OCI image config (Istio's layout).
pub const IMAGE_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";
/// A gzip-compressed tar layer (Istio's layout).
pub const TAR_GZIP_MEDIA_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// The file Istio's image fetcher takes out of the layer.
pub const ISTIO_PLUGIN_FILE: &str = "plugin.wasm";
/// `artifactType` of a policy bundle manifest.
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.e911.policy.bundle.v1";
/// Media type of the layer that carries the bundle file.
pub const BUNDLE_LAYER_MEDIA_TYPE: &str = "application/vnd.e911.policy.bundle.layer.v1";
/// The empty descriptor's media type (image-spec v1.1, "Guidelines for Artifact Usage").
pub const EMPTY_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";
/// Annotation: the bundle's revision (from its `bundle.toml`).
pub const REVISION_ANNOTATION: &str = "io.e911.policy.revision";
/// Annotation: SHA-256 of the bundle payload, as the bundle header states it.
pub const PAYLOAD_ANNOTATION: &str = "io.e911.policy.payload-sha256";
/// Annotation: the id of the key that signed the bundle, or `unsigned`.
pub const SIGNER_ANNOTATION: &str = "io.e911.policy.signer";
/// The predefined annotation naming a layer's file.
const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";

/// What an artifact holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// A proxy-wasm core module (CNCF layout, `os: wasip1`).
    Module,
    /// A proxy-wasm core module in Istio's tar+gzip layout.
    Istio,
    /// A WIT component (CNCF layout, `os: wasip2`).
    Component,
    /// A compiled policy bundle.
    Bundle,
}

impl Kind {
    /// The name printed for people.
    pub fn name(self) -> &'static str {
        match self {
            Self::Module => "module (CNCF wasm, wasip1)",
            Self::Istio => "module (Istio tar+gzip, plugin.wasm)",
            Self::Component => "component (CNCF wasm, wasip2)",
            Self::Bundle => "policy bundle",
        }
    }
}

/// An artifact ready to push: its config, layers and manifest.
pub struct Artifact {
    /// The config blob.
    pub config: Config,
    /// The layer blobs.
    pub layers: Vec<ImageLayer>,
    /// The manifest naming them.
    pub manifest: OciImageManifest,
}

/// The CNCF Wasm config (`application/vnd.wasm.config.v0+json`).
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WasmConfig {
    /// Always `wasm`.
    pub architecture: String,
    /// `wasip1` for a core module, `wasip2` for a component.
    pub os: String,
    /// The digest of each layer, in manifest order.
    pub layer_digests: Vec<String>,
    /// For a component: its world's exports and imports.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<ComponentWorld>,
}

/// `component` of the CNCF config: the names a host links against.
#[derive(Debug, Serialize, Deserialize)]
pub struct ComponentWorld {
    /// Exported functions and interfaces (`on-message`, `ns:pkg/iface@ver`).
    pub exports: Vec<String>,
    /// Imported interfaces.
    pub imports: Vec<String>,
}

fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", super::verify::sha256_hex(bytes))
}

fn artifact(
    config: Config,
    layers: Vec<ImageLayer>,
    artifact_type: Option<&str>,
    annotations: BTreeMap<String, String>,
) -> Artifact {
    let annotations = (!annotations.is_empty()).then_some(annotations);
    let mut manifest = OciImageManifest::build(&layers, &config, annotations);
    manifest.media_type = Some(OCI_IMAGE_MEDIA_TYPE.to_owned());
    manifest.artifact_type = artifact_type.map(str::to_owned);
    Artifact {
        config,
        layers,
        manifest,
    }
}

fn titled(name: &str) -> Option<BTreeMap<String, String>> {
    Some(BTreeMap::from([(
        TITLE_ANNOTATION.to_owned(),
        name.to_owned(),
    )]))
}

/// The binary preamble of a core module (`\0asm`, version 1) and of a component
/// (`\0asm`, version 0x0d, layer 1).
const CORE_MODULE_PREAMBLE: [u8; 8] = [0, b'a', b's', b'm', 1, 0, 0, 0];
const COMPONENT_PREAMBLE: [u8; 8] = [0, b'a', b's', b'm', 0x0d, 0, 1, 0];

fn wasm_artifact(wasm: &[u8], os: &str, component: Option<ComponentWorld>) -> Result<Artifact> {
    let layer = ImageLayer::new(wasm.to_vec(), WASM_LAYER_MEDIA_TYPE.to_owned(), None);
    let config = WasmConfig {
        architecture: "wasm".to_owned(),
        os: os.to_owned(),
        layer_digests: vec![sha256_digest(wasm)],
        component,
    };
    let config = Config::new(
        serde_json::to_vec(&config)?,
        WASM_CONFIG_MEDIA_TYPE.to_owned(),
        None,
    );
    Ok(artifact(config, vec![layer], None, BTreeMap::new()))
}

/// A proxy-wasm core module in the CNCF layout.
pub fn module(wasm: &[u8]) -> Result<Artifact> {
    if !wasm.starts_with(&CORE_MODULE_PREAMBLE) {
        bail!("not a WebAssembly core module (a proxy-wasm filter is one)");
    }
    wasm_artifact(wasm, "wasip1", None)
}

/// A proxy-wasm core module in Istio's layout: `plugin.wasm` in a tar+gzip layer.
pub fn istio(wasm: &[u8]) -> Result<Artifact> {
    if !wasm.starts_with(&CORE_MODULE_PREAMBLE) {
        bail!("not a WebAssembly core module (a proxy-wasm filter is one)");
    }
    let layer = ImageLayer::new(
        tar_gzip(ISTIO_PLUGIN_FILE, wasm)?,
        TAR_GZIP_MEDIA_TYPE.to_owned(),
        None,
    );
    // An image config needs only its platform and the layers' uncompressed digests
    // (image-spec config.md: `rootfs.diff_ids`).
    let tar_digest = sha256_digest(&tar(ISTIO_PLUGIN_FILE, wasm)?);
    let config = serde_json::json!({
        "architecture": "wasm",
        "os": "wasip1",
        "rootfs": {"type": "layers", "diff_ids": [tar_digest]},
    });
    let config = Config::new(
        serde_json::to_vec(&config)?,
        IMAGE_CONFIG_MEDIA_TYPE.to_owned(),
        None,
    );
    Ok(artifact(config, vec![layer], None, BTreeMap::new()))
}

/// A WIT component in the CNCF layout, its world's imports and exports in the config.
pub fn component(wasm: &[u8]) -> Result<Artifact> {
    if !wasm.starts_with(&COMPONENT_PREAMBLE) {
        bail!("not a WebAssembly component (a core module is pushed as `module`)");
    }
    wasm_artifact(wasm, "wasip2", Some(component_world(wasm)?))
}

/// The world a component targets, read from its own type information.
fn component_world(wasm: &[u8]) -> Result<ComponentWorld> {
    let decoded = wit_parser::decoding::decode(wasm).context("cannot read its WIT world")?;
    let wit_parser::decoding::DecodedWasm::Component(resolve, world) = decoded else {
        bail!("a WIT package, not a component");
    };
    let world = &resolve.worlds[world];
    let names = |items: &wit_parser::IndexMap<wit_parser::WorldKey, wit_parser::WorldItem>| {
        // Interfaces and functions; the types a world also lists are not linked against.
        items
            .iter()
            .filter(|(_, item)| !matches!(item, wit_parser::WorldItem::Type { .. }))
            .map(|(key, _)| resolve.name_world_key(key))
            .collect::<Vec<_>>()
    };
    Ok(ComponentWorld {
        exports: names(&world.exports),
        imports: names(&world.imports),
    })
}

/// A compiled policy bundle, checked to be one, with its header facts as annotations.
pub fn bundle(bytes: &[u8]) -> Result<Artifact> {
    let info = e911_policy::Bundle::inspect(bytes).map_err(|err| anyhow::anyhow!("{err}"))?;
    let layer = ImageLayer::new(
        bytes.to_vec(),
        BUNDLE_LAYER_MEDIA_TYPE.to_owned(),
        titled("policy.bundle"),
    );
    let config = Config::new(b"{}".to_vec(), EMPTY_MEDIA_TYPE.to_owned(), None);
    let annotations = BTreeMap::from([
        (REVISION_ANNOTATION.to_owned(), info.revision.clone()),
        (PAYLOAD_ANNOTATION.to_owned(), info.digest_hex()),
        (
            SIGNER_ANNOTATION.to_owned(),
            info.signer_key_id()
                .unwrap_or_else(|| "unsigned".to_owned()),
        ),
    ]);
    Ok(artifact(
        config,
        vec![layer],
        Some(BUNDLE_ARTIFACT_TYPE),
        annotations,
    ))
}

/// Which of our kinds a manifest is (its config and layer media types decide).
pub fn classify(manifest: &OciImageManifest, config: &[u8]) -> Result<Kind> {
    let layer = match manifest.layers.as_slice() {
        [one] => one.media_type.as_str(),
        layers => bail!("{} layers; our artifacts have exactly one", layers.len()),
    };
    let config_type = manifest.config.media_type.as_str();
    Ok(match (config_type, layer) {
        (WASM_CONFIG_MEDIA_TYPE, WASM_LAYER_MEDIA_TYPE) => {
            let config: WasmConfig =
                serde_json::from_slice(config).context("the wasm config is not valid JSON")?;
            match config.os.as_str() {
                "wasip1" => Kind::Module,
                "wasip2" => Kind::Component,
                os => bail!("wasm config names os {os:?}; expected wasip1 or wasip2"),
            }
        }
        (IMAGE_CONFIG_MEDIA_TYPE, TAR_GZIP_MEDIA_TYPE) => Kind::Istio,
        (EMPTY_MEDIA_TYPE, BUNDLE_LAYER_MEDIA_TYPE)
            if manifest.artifact_type.as_deref() == Some(BUNDLE_ARTIFACT_TYPE) =>
        {
            Kind::Bundle
        }
        _ => bail!(
            "config {config_type} with layer {layer}: not a module, component or policy bundle"
        ),
    })
}

/// The file an artifact carries: the wasm bytes (taken out of Istio's tar+gzip, which may
/// unpack to no more than `limit` bytes) or the bundle, from its one layer (already checked
/// against its digest and the same limit).
pub fn unpack(kind: Kind, layer: &[u8], (limit, option): (u64, &str)) -> Result<Vec<u8>> {
    match kind {
        Kind::Istio => untar_gzip(layer, ISTIO_PLUGIN_FILE, limit)
            .map_err(|err| anyhow::anyhow!("{err:#} ({option})")),
        Kind::Module | Kind::Component | Kind::Bundle => Ok(layer.to_vec()),
    }
}

fn tar(name: &str, data: &[u8]) -> Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_size(data.len() as u64);
    header.set_mode(0o644);
    // mtime stays 0: the same module gives the same layer digest.
    header.set_mtime(0);
    builder
        .append_data(&mut header, name, data)
        .context("writing the tar layer")?;
    builder.into_inner().context("writing the tar layer")
}

fn tar_gzip(name: &str, data: &[u8]) -> Result<Vec<u8>> {
    use std::io::Write as _;
    let tar = tar(name, data)?;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).context("compressing the tar layer")?;
    gz.finish().context("compressing the tar layer")
}

/// Room for tar's own framing around the file: a 512-byte header per entry, padding to
/// 512 bytes and the two zero blocks at the end.
pub const TAR_FRAMING: u64 = 64 << 10;

/// The file `name` out of a tar+gzip layer, refused as soon as the layer unpacks to more
/// than `limit` bytes of file (plus [`TAR_FRAMING`]), before that much is held anywhere.
pub fn untar_gzip(layer: &[u8], name: &str, limit: u64) -> Result<Vec<u8>> {
    let too_big = || anyhow::anyhow!("the tar+gzip layer unpacks to more than {limit} bytes");
    let decoder = super::limits::BoundedReader::new(
        flate2::read::GzDecoder::new(layer),
        limit.saturating_add(TAR_FRAMING),
    );
    let mut archive = tar::Archive::new(decoder);
    let found = find_in_tar(&mut archive, name, limit);
    if archive.into_inner().exceeded() {
        return Err(too_big());
    }
    match found? {
        Some(file) => Ok(file),
        None => bail!("the tar+gzip layer holds no {name}"),
    }
}

fn find_in_tar<R: Read>(
    archive: &mut tar::Archive<R>,
    name: &str,
    limit: u64,
) -> Result<Option<Vec<u8>>> {
    for entry in archive.entries().context("reading the tar+gzip layer")? {
        let entry = entry.context("reading the tar+gzip layer")?;
        let path = entry.path().context("reading the tar+gzip layer")?;
        if path.to_str().map(|p| p.trim_start_matches("./")) == Some(name) {
            // The header states the size: refuse before reading a byte of it.
            if entry.size() > limit {
                bail!(
                    "{name} in the tar+gzip layer is {} bytes, more than {limit}",
                    entry.size()
                );
            }
            let mut out = Vec::new();
            super::limits::BoundedReader::new(entry, limit)
                .read_to_end(&mut out)
                .context("reading the tar+gzip layer")?;
            return Ok(Some(out));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core_module() -> Vec<u8> {
        let mut wasm = CORE_MODULE_PREAMBLE.to_vec();
        wasm.extend_from_slice(b"rest of a module");
        wasm
    }

    #[test]
    fn istio_layer_round_trips_plugin_wasm() {
        let wasm = core_module();
        let artifact = istio(&wasm).unwrap();
        let layer = &artifact.layers[0];
        assert_eq!(layer.media_type, TAR_GZIP_MEDIA_TYPE);
        assert_eq!(
            untar_gzip(&layer.data, ISTIO_PLUGIN_FILE, 1 << 20).unwrap(),
            wasm
        );
        let kind = classify(&artifact.manifest, &artifact.config.data).unwrap();
        assert_eq!(kind, Kind::Istio);
    }

    #[test]
    fn same_module_gives_the_same_manifest() {
        let a = serde_json::to_vec(&module(&core_module()).unwrap().manifest).unwrap();
        let b = serde_json::to_vec(&module(&core_module()).unwrap().manifest).unwrap();
        assert_eq!(a, b);
        let a = serde_json::to_vec(&istio(&core_module()).unwrap().manifest).unwrap();
        let b = serde_json::to_vec(&istio(&core_module()).unwrap().manifest).unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn refuses_a_component_as_a_module_and_the_reverse() {
        let mut component_bytes = COMPONENT_PREAMBLE.to_vec();
        component_bytes.push(0);
        assert!(module(&component_bytes).is_err());
        assert!(istio(&component_bytes).is_err());
        assert!(component(&core_module()).is_err());
    }

    #[test]
    fn classifies_the_module_layout_by_its_config_os() {
        let artifact = module(&core_module()).unwrap();
        let kind = classify(&artifact.manifest, &artifact.config.data).unwrap();
        assert_eq!(kind, Kind::Module);
        let config: serde_json::Value = serde_json::from_slice(&artifact.config.data).unwrap();
        assert_eq!(config["os"], "wasip1");
        assert_eq!(config["architecture"], "wasm");
        assert_eq!(
            config["layerDigests"][0],
            artifact.manifest.layers[0].digest.as_str()
        );
    }

    #[test]
    fn a_layer_that_unpacks_past_the_limit_is_refused_not_cut_short() {
        // 100 KiB of zeros compress to a few hundred bytes.
        let layer = tar_gzip(ISTIO_PLUGIN_FILE, &vec![0; 100 << 10]).unwrap();
        assert!(layer.len() < 1024, "{} bytes", layer.len());
        let err = untar_gzip(&layer, ISTIO_PLUGIN_FILE, 10 << 10).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("more than 10240"), "{err}");
        assert_eq!(
            untar_gzip(&layer, ISTIO_PLUGIN_FILE, 100 << 10)
                .unwrap()
                .len(),
            100 << 10
        );
    }
}
