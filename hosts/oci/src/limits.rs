//! How much a pull may read. A registry is not trusted to be small: every blob is refused
//! while it streams as soon as it passes the size its descriptor declares or the limit for
//! its kind, and Istio's tar+gzip layer is refused while it decompresses as soon as it
//! unpacks to more than the module limit (a decompression bomb is a few KiB on the wire).

use std::io::Read;
use std::pin::Pin;
use std::task::{Context, Poll};

use super::layout::Kind;

/// 16 MiB: a compiled policy bundle is tens of KiB; this leaves room for big location
/// tables.
pub const DEFAULT_BUNDLE_BYTES: u64 = 16 << 20;
/// 64 MiB: the filter and the component are a few MiB each.
pub const DEFAULT_WASM_BYTES: u64 = 64 << 20;
/// 64 KiB: our manifests and configs are well under 2 KiB.
pub const DEFAULT_MANIFEST_BYTES: u64 = 64 << 10;

/// The limits on a pull, in bytes, from the command line.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LimitArgs {
    /// Largest policy bundle a pull accepts, in bytes [default: 16 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_bundle_bytes: Option<u64>,
    /// Largest proxy-wasm module a pull accepts (for Istio's layout: both the compressed
    /// layer and the unpacked plugin.wasm), in bytes [default: 64 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_module_bytes: Option<u64>,
    /// Largest component a pull accepts, in bytes [default: 64 MiB].
    #[arg(long, value_name = "BYTES")]
    pub max_component_bytes: Option<u64>,
    /// Largest manifest (also a referrers index) or config a pull accepts, in bytes
    /// [default: 64 KiB].
    #[arg(long, value_name = "BYTES")]
    pub max_manifest_bytes: Option<u64>,
}

/// The limits in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// A bundle layer.
    pub bundle: u64,
    /// A module layer (either layout) and an unpacked plugin.wasm.
    pub module: u64,
    /// A component layer.
    pub component: u64,
    /// A manifest, a referrers index, a config.
    pub manifest: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            bundle: DEFAULT_BUNDLE_BYTES,
            module: DEFAULT_WASM_BYTES,
            component: DEFAULT_WASM_BYTES,
            manifest: DEFAULT_MANIFEST_BYTES,
        }
    }
}

impl From<&LimitArgs> for Limits {
    fn from(args: &LimitArgs) -> Self {
        let default = Self::default();
        Self {
            bundle: args.max_bundle_bytes.unwrap_or(default.bundle),
            module: args.max_module_bytes.unwrap_or(default.module),
            component: args.max_component_bytes.unwrap_or(default.component),
            manifest: args.max_manifest_bytes.unwrap_or(default.manifest),
        }
    }
}

impl Limits {
    /// The limit on the layer (and unpacked file) of `kind`, with the option that sets it.
    pub fn layer(&self, kind: Kind) -> (u64, &'static str) {
        match kind {
            Kind::Bundle => (self.bundle, "--max-bundle-bytes"),
            Kind::Module | Kind::Istio => (self.module, "--max-module-bytes"),
            Kind::Component => (self.component, "--max-component-bytes"),
        }
    }
}

/// Collects a streamed blob, failing the write that would take it past `limit`; the
/// failure is remembered so the caller can tell "too big" from a transport error.
pub struct BoundedSink {
    bytes: Vec<u8>,
    limit: u64,
    exceeded: bool,
}

impl BoundedSink {
    /// A sink for at most `limit` bytes.
    pub fn new(limit: u64) -> Self {
        // The declared size is a claim, not a fact: reserve at most 1 MiB up front.
        let reserve = usize::try_from(limit.min(1 << 20)).unwrap_or(0);
        Self {
            bytes: Vec::with_capacity(reserve),
            limit,
            exceeded: false,
        }
    }

    /// Whether a write was refused for the limit.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// What arrived.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

impl tokio::io::AsyncWrite for BoundedSink {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let total = this.bytes.len() as u64 + buf.len() as u64;
        if total > this.limit {
            this.exceeded = true;
            return Poll::Ready(Err(std::io::Error::other(format!(
                "more than {} bytes",
                this.limit
            ))));
        }
        this.bytes.extend_from_slice(buf);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// A reader that fails, rather than ends, once more than `limit` bytes came through it:
/// a decoder cut short by `Read::take` would look like a truncated archive, or worse,
/// like a complete shorter file.
pub struct BoundedReader<R> {
    inner: std::io::Take<R>,
    limit: u64,
    exceeded: bool,
}

impl<R: Read> BoundedReader<R> {
    /// `inner`, readable up to `limit` bytes.
    pub fn new(inner: R, limit: u64) -> Self {
        Self {
            // One byte past the limit tells "exactly at the limit" from "beyond it".
            inner: inner.take(limit.saturating_add(1)),
            limit,
            exceeded: false,
        }
    }

    /// Whether the limit was passed.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }
}

impl<R: Read> Read for BoundedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let consumed = self.limit.saturating_add(1) - self.inner.limit();
        if consumed > self.limit {
            self.exceeded = true;
            return Err(std::io::Error::other(format!(
                "more than {} bytes",
                self.limit
            )));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reader_fails_past_the_limit_and_not_at_it() {
        let data = vec![7u8; 100];
        let mut at = BoundedReader::new(data.as_slice(), 100);
        let mut out = Vec::new();
        assert_eq!(at.read_to_end(&mut out).unwrap(), 100);
        assert!(!at.exceeded());

        let mut past = BoundedReader::new(data.as_slice(), 99);
        let err = past.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(past.exceeded());
        assert!(err.to_string().contains("more than 99 bytes"), "{err}");
    }

    #[test]
    fn sink_refuses_the_write_that_passes_the_limit() {
        use tokio::io::AsyncWrite as _;
        let waker = std::task::Waker::noop();
        let mut cx = Context::from_waker(waker);
        let mut sink = BoundedSink::new(4);
        let first = Pin::new(&mut sink).poll_write(&mut cx, b"abc");
        assert!(matches!(first, Poll::Ready(Ok(3))));
        let second = Pin::new(&mut sink).poll_write(&mut cx, b"de");
        assert!(matches!(second, Poll::Ready(Err(_))));
        assert!(sink.exceeded());
        assert_eq!(sink.into_bytes(), b"abc");
    }

    #[test]
    fn options_override_only_what_they_name() {
        let limits = Limits::from(&LimitArgs {
            max_module_bytes: Some(10),
            ..LimitArgs::default()
        });
        assert_eq!(limits.layer(Kind::Istio), (10, "--max-module-bytes"));
        assert_eq!(limits.layer(Kind::Bundle).0, DEFAULT_BUNDLE_BYTES);
    }
}
