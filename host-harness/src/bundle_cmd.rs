//! `e911-harness bundle check|build|inspect|keygen`: the policy bundle lifecycle from the
//! command line (DESIGN §6). Each mistake is one line naming the file and line.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use e911_policy::{Bundle, SecretKey};

use e911_host_files::policy_source::{self, problem_lines, read_sources};

/// What `bundle check` found: problems (the bundle does not compile or load) and
/// warnings (it does, but deserves a look), each one line naming its file and line.
pub struct Checked {
    /// `file:line: message` for each problem.
    pub problems: Vec<String>,
    /// `file:line: warning: message` for each warning.
    pub warnings: Vec<String>,
}

/// Validates a source folder (every problem and warning at once) or a bundle file (digest,
/// and signature against `keys`).
pub fn check(path: &Path, keys: &[PathBuf]) -> Result<Checked> {
    if path.is_dir() {
        let check = read_sources(path)?.check();
        let lines = |list: &[e911_policy::Problem], tag: &str| {
            list.iter()
                .map(|p| {
                    format!(
                        "{}/{}:{}: {tag}{}",
                        path.display(),
                        p.file,
                        p.line,
                        p.message
                    )
                })
                .collect()
        };
        let mut problems: Vec<String> = lines(&check.problems, "");
        // --trust-key means what it means for `run` and `proxy`: a folder is unsigned, so
        // no host given these keys would take it (policy_source::load_signed says why).
        if !keys.is_empty()
            && let Err(err) = policy_source::load_signed(path, &policy_source::read_keys(keys)?)
        {
            problems.push(format!("{err:#}"));
        }
        return Ok(Checked {
            problems,
            warnings: lines(&check.warnings, "warning: "),
        });
    }
    let keys = policy_source::read_keys(keys)?;
    Ok(Checked {
        problems: match policy_source::load(path, &keys) {
            Ok(_) => Vec::new(),
            Err(err) => vec![format!("{err:#}")],
        },
        warnings: Vec::new(),
    })
}

/// Compiles a source folder into a bundle file, signed when a key file is given.
pub fn build(dir: &Path, out: &Path, sign_key: Option<&Path>) -> Result<String> {
    let policy = read_sources(dir)?.compile().map_err(|problems| {
        anyhow::anyhow!(
            "{} problem(s) in the policy:\n{}",
            problems.len(),
            problem_lines(dir, &problems)
        )
    })?;
    let key = sign_key.map(read_secret_key).transpose()?;
    let bytes = policy
        .write_bundle(key.as_ref())
        .context("writing the bundle")?;
    std::fs::write(out, &bytes).with_context(|| format!("{}: cannot write", out.display()))?;
    let info = Bundle::inspect(&bytes)
        .map_err(|err| anyhow::anyhow!("the bundle just written does not load: {err}"))?;
    Ok(format!("{}: {info}", out.display()))
}

/// What a bundle holds, after checking its digest (its signature too, when keys are given).
pub fn inspect(path: &Path, keys: &[PathBuf]) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("{}: cannot read", path.display()))?;
    let info =
        Bundle::inspect(&bytes).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    let keys = policy_source::read_keys(keys)?;
    let bundle =
        Bundle::load(&bytes, &keys).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
    let counts = bundle.counts();
    Ok(format!(
        "{}\n  format version {}\n  revision {}\n  sha256 {}\n  signer {}\n  size {} bytes\n  ERLs {}, subnets {}, BSSIDs {}, chassis {}, ports {}\n  policies {}, sites {}, routes {}, callers {}\n",
        path.display(),
        info.format_version,
        info.revision,
        info.digest_hex(),
        info.signer_key_id()
            .unwrap_or_else(|| "none (unsigned)".to_owned()),
        info.size,
        counts.erls,
        counts.subnets,
        counts.bssids,
        counts.chassis,
        counts.ports,
        counts.policies,
        counts.sites,
        counts.routes,
        counts.callers,
    ))
}

/// Writes a new signing key (the secret seed, hex) to `out` and its public key to
/// `out.pub`; prints the key id.
pub fn keygen(out: &Path) -> Result<String> {
    if out.exists() {
        bail!(
            "{}: exists; refusing to overwrite a signing key",
            out.display()
        );
    }
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .context("reading /dev/urandom")?;
    let key = SecretKey::from_seed(seed);
    let public = key.public_key();
    write_secret(out, &key.to_hex())?;
    let pub_path = public_path(out);
    std::fs::write(&pub_path, format!("{}\n", public.to_hex()))
        .with_context(|| format!("{}: cannot write", pub_path.display()))?;
    Ok(format!(
        "key {} written to {} (public key in {})",
        public.key_id(),
        out.display(),
        pub_path.display()
    ))
}

/// The secret key is readable by its owner only (mode 0600), and never replaces a file.
fn write_secret(path: &Path, hex: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    writeln!(file, "{hex}").with_context(|| format!("{}: cannot write", path.display()))
}

fn public_path(secret: &Path) -> PathBuf {
    let mut name = secret.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

fn read_secret_key(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read", path.display()))?;
    SecretKey::from_hex(text.trim()).map_err(|err| anyhow::anyhow!("{}:1: {err}", path.display()))
}
