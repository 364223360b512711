//! Fetching a manifest with a bound. oci-client reads a manifest response whole before
//! anything can look at its size, so a registry could make a pull (and the proxy
//! following a tag) hold gigabytes; here the response is read chunk by chunk and refused
//! as soon as it passes the limit, or at once when its Content-Length does. oci-client
//! still does the authentication (a `Basic` challenge, or a bearer token it fetches).

use std::time::Duration;

use anyhow::Result;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;
use oci_client::{Client, Reference, RegistryOperation};

use super::verify;

/// A manifest response, read within its limit.
pub struct RawManifest {
    /// Its digest: SHA-256 of the bytes (checked against the registry's
    /// `Docker-Content-Digest` when it sends one).
    pub digest: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Why a manifest was not fetched.
pub enum FetchError {
    /// The registry answered, or could not be reached, as oci-client would report it.
    Registry(OciDistributionError),
    /// What came is refused (too big, wrong digest).
    Refused(anyhow::Error),
}

/// A plain HTTP client for manifest GETs, with the same timeouts as oci-client's.
pub struct ManifestClient {
    http: reqwest::Client,
    scheme: &'static str,
}

impl ManifestClient {
    /// A client speaking HTTPS, or plain HTTP when `insecure`.
    pub fn new(insecure: bool, connect: Duration, read: Duration) -> Result<Self> {
        let http = reqwest::Client::builder()
            .connect_timeout(connect)
            .read_timeout(read)
            .build()
            .map_err(|err| anyhow::anyhow!("starting the registry client: {err}"))?;
        Ok(Self {
            http,
            scheme: if insecure { "http" } else { "https" },
        })
    }

    /// The digest of the manifest `reference` names: the registry's `Docker-Content-Digest`
    /// from a HEAD request (what a follower polls), else the digest of a bounded GET
    /// (where oci-client would read the response whole).
    pub async fn digest(
        &self,
        client: &Client,
        auth: &RegistryAuth,
        reference: &Reference,
        accept: &str,
        limit: u64,
    ) -> Result<String, FetchError> {
        let (request, url) = self
            .request(reqwest::Method::HEAD, client, auth, reference, accept)
            .await?;
        let response = request
            .send()
            .await
            .map_err(|err| FetchError::Registry(err.into()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Registry(OciDistributionError::ServerError {
                code: status.as_u16(),
                url,
                message: String::new(),
            }));
        }
        match announced_digest(&response) {
            Some(digest) => Ok(digest),
            None => Ok(self
                .fetch(client, auth, reference, accept, limit)
                .await?
                .digest),
        }
    }

    /// An authenticated request for the manifest `reference` names, and its URL.
    async fn request(
        &self,
        method: reqwest::Method,
        client: &Client,
        auth: &RegistryAuth,
        reference: &Reference,
        accept: &str,
    ) -> Result<(reqwest::RequestBuilder, String), FetchError> {
        let token = client
            .auth(reference, auth, RegistryOperation::Pull)
            .await
            .map_err(FetchError::Registry)?;
        let url = format!(
            "{}://{}/v2/{}/manifests/{}",
            self.scheme,
            reference.resolve_registry(),
            reference.repository(),
            name(reference)
        );
        let request = self
            .http
            .request(method, &url)
            .header(reqwest::header::ACCEPT, accept);
        let request = match (token, auth) {
            (Some(token), _) => request.bearer_auth(token),
            (None, RegistryAuth::Basic(user, password)) => request.basic_auth(user, Some(password)),
            (None, _) => request,
        };
        Ok((request, url))
    }

    /// The manifest `reference` names, of media type `accept`, at most `limit` bytes.
    pub async fn fetch(
        &self,
        client: &Client,
        auth: &RegistryAuth,
        reference: &Reference,
        accept: &str,
        limit: u64,
    ) -> Result<RawManifest, FetchError> {
        let name = name(reference);
        let (request, url) = self
            .request(reqwest::Method::GET, client, auth, reference, accept)
            .await?;
        let mut response = request
            .send()
            .await
            .map_err(|err| FetchError::Registry(err.into()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Registry(OciDistributionError::ServerError {
                code: status.as_u16(),
                url,
                message: String::new(),
            }));
        }
        let too_big = |what: String| {
            FetchError::Refused(verify::refused(format!(
                "manifest {name}: {what}, more than the {limit}-byte limit (--max-manifest-bytes)"
            )))
        };
        if let Some(length) = response.content_length()
            && length > limit
        {
            return Err(too_big(format!("the registry announces {length} bytes")));
        }
        let announced = announced_digest(&response);
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|err| FetchError::Registry(err.into()))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > limit {
                return Err(too_big("the registry sent more".to_owned()));
            }
            bytes.extend_from_slice(&chunk);
        }
        let digest = format!("sha256:{}", verify::sha256_hex(&bytes));
        if let Some(announced) = announced
            && announced.starts_with("sha256:")
            && announced != digest
        {
            return Err(FetchError::Refused(verify::refused(format!(
                "manifest {name}: content has digest {digest}, the registry says {announced}"
            ))));
        }
        Ok(RawManifest { digest, bytes })
    }
}

/// The tag or digest a reference names.
fn name(reference: &Reference) -> &str {
    match (reference.digest(), reference.tag()) {
        (Some(digest), _) => digest,
        (None, Some(tag)) => tag,
        (None, None) => "latest",
    }
}

/// The registry's `Docker-Content-Digest` field, if it sent one.
fn announced_digest(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead as _, BufReader, Write as _};
    use std::net::TcpListener;

    use super::*;

    /// A registry that does what distribution never does (so the real one cannot stand in
    /// here): sends a manifest chunked, without Content-Length, endlessly.
    fn endless_registry() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                    line.clear();
                }
                if !request_line.contains("/manifests/") {
                    let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}");
                    continue;
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
                let chunk = format!("{:x}\r\n{}\r\n", 1024, "x".repeat(1024));
                // Stops when the client hangs up.
                while stream.write_all(chunk.as_bytes()).is_ok() {}
            }
        });
        port
    }

    #[test]
    fn a_manifest_without_length_is_cut_off_at_the_limit() {
        let port = endless_registry();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = Client::new(oci_client::client::ClientConfig {
            protocol: oci_client::client::ClientProtocol::Http,
            ..Default::default()
        });
        let manifests =
            ManifestClient::new(true, Duration::from_secs(5), Duration::from_secs(5)).unwrap();
        let reference: Reference = format!("127.0.0.1:{port}/e911/x:y").parse().unwrap();
        let fetched = runtime.block_on(manifests.fetch(
            &client,
            &RegistryAuth::Anonymous,
            &reference,
            "application/vnd.oci.image.manifest.v1+json",
            64 << 10,
        ));
        match fetched {
            Err(FetchError::Refused(err)) => {
                assert!(verify::is_refused(&err));
                let text = format!("{err:#}");
                assert!(text.contains("the registry sent more"), "{text}");
            }
            Err(FetchError::Registry(err)) => panic!("registry error: {err}"),
            Ok(raw) => panic!("took {} bytes", raw.bytes.len()),
        }
    }
}
