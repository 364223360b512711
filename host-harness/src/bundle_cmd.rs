//! `e911-harness bundle check|build|inspect|keygen|export-ali`: the policy bundle lifecycle
//! from the command line (DESIGN §6), and what the carrier is sent beforehand (the ALI
//! export and the MSAG check, from `e911-provisioning`). Each mistake is one line naming the
//! file and line.

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

/// The format `bundle export-ali` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AliFormat {
    /// The NENA 02-010 fixed-width record (512 characters), with header and trailer.
    Nena,
    /// CSV with a header row: the NENA fields by name, plus the ERL and the ELIN.
    Csv,
}

/// What `bundle export-ali` is told.
#[derive(clap::Args)]
pub struct ExportAliArgs {
    /// Source folder of the policy.
    pub dir: PathBuf,
    /// `nena` (fixed width) or `csv`.
    #[arg(long, value_enum)]
    pub format: AliFormat,
    /// Where to write the records; default standard output.
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Write the records of the good ERLs even when some cannot be exported (the command
    /// still fails, naming each bad address).
    #[arg(long)]
    pub partial: bool,
    /// The Extract Date of the records (YYYY-MM-DD); default today (UTC).
    #[arg(long)]
    pub extract_date: Option<String>,
    /// Your NENA-registered Company ID (up to 5 characters); blank when the carrier fills it.
    #[arg(long, default_value = "")]
    pub company_id: String,
    /// The company name in the header record; default the bundle's tenant.
    #[arg(long)]
    pub company_name: Option<String>,
    /// NENA Class of Service of the ELINs: 4 is business PBX (an enterprise's ELINs).
    #[arg(long, default_value_t = '4')]
    pub class_of_service: char,
    /// The header's cycle counter: 1 for the first file sent, one more each time.
    #[arg(long, default_value_t = 1)]
    pub cycle: u32,
}

/// What an export or MSAG check produced: lines for stderr (`file:line: …`), the
/// output, and whether the command failed.
pub struct Provisioned {
    /// One line each, for standard error.
    pub problems: Vec<String>,
    /// A closing line for a person.
    pub summary: String,
    /// Whether something could not be exported or validated.
    pub failed: bool,
}

/// `bundle export-ali`: the ELIN → address records for the carrier's ALI database.
pub fn export_ali(args: &ExportAliArgs) -> Result<Provisioned> {
    use e911_provisioning::ali;
    let dir = &args.dir;
    let (policy, _, origins) = compile_with_origins(dir)?;
    let extract_date = match &args.extract_date {
        Some(text) => ali::ExtractDate::parse(text)
            .with_context(|| format!("--extract-date `{text}`: expected YYYY-MM-DD"))?,
        None => ali::ExtractDate::from_unix_days(today_unix_days()),
    };
    if args.company_id.len() > 5 || !args.company_id.is_ascii() {
        bail!(
            "--company-id `{}`: at most 5 ASCII characters",
            args.company_id
        );
    }
    if !args.class_of_service.is_ascii_alphanumeric() {
        bail!(
            "--class-of-service `{}`: one letter or digit",
            args.class_of_service
        );
    }
    let options = ali::AliOptions {
        extract_date,
        company_id: args.company_id.clone(),
        company_name: args
            .company_name
            .clone()
            .unwrap_or_else(|| policy.settings().tenant.clone()),
        class_of_service: args.class_of_service,
        cycle: args.cycle,
    };
    let export = ali::export(&policy, &origins, &options);
    let problems: Vec<String> = export
        .problems
        .iter()
        .map(|p| format!("{}/{p}", dir.display()))
        .collect();
    let failed = !problems.is_empty();
    if failed && !args.partial {
        let summary = format!(
            "{} ERL(s) with ELINs cannot be exported; nothing written (--partial writes the others)",
            export.erls_left_out
        );
        return Ok(Provisioned {
            problems,
            summary,
            failed,
        });
    }
    let bytes = match args.format {
        AliFormat::Nena => ali::write_nena(&export.records, &options),
        AliFormat::Csv => ali::write_csv(&export.records).into_bytes(),
    };
    match &args.out {
        Some(path) => std::fs::write(path, &bytes)
            .with_context(|| format!("{}: cannot write", path.display()))?,
        None => {
            use std::io::Write as _;
            std::io::stdout()
                .write_all(&bytes)
                .context("writing the records")?;
        }
    }
    let mut summary = format!("{} ALI record(s) written", export.records.len());
    if failed {
        summary.push_str(&format!(
            "; {} ERL(s) with ELINs left out",
            export.erls_left_out
        ));
    }
    Ok(Provisioned {
        problems,
        summary,
        failed,
    })
}

/// `bundle check --msag`: every US ERL against an MSAG extract, and with `write` the
/// validation cells of the ERL files set to what it found.
pub fn check_msag(dir: &Path, msag_path: &Path, write: bool) -> Result<Provisioned> {
    use e911_provisioning::{msag, validated};
    let (policy, rows, origins) = compile_with_origins(dir)?;
    let size = std::fs::metadata(msag_path)
        .with_context(|| format!("{}: cannot read", msag_path.display()))?
        .len();
    if size > msag::MAX_MSAG_BYTES as u64 {
        bail!(
            "{}: larger than 256 MiB: not an MSAG extract",
            msag_path.display()
        );
    }
    let bytes = std::fs::read(msag_path)
        .with_context(|| format!("{}: cannot read", msag_path.display()))?;
    let extract = match msag::read(&msag_path.display().to_string(), &bytes) {
        Ok(extract) => extract,
        Err(problems) => {
            return Ok(Provisioned {
                summary: format!("{} problem(s) in the MSAG extract", problems.len()),
                problems: problems.iter().map(ToString::to_string).collect(),
                failed: true,
            });
        }
    };
    let checked = msag::check(&policy, &origins, &extract);
    let mut problems: Vec<String> = checked
        .problems
        .iter()
        .map(|p| format!("{}/{p}", dir.display()))
        .collect();
    let mismatches = checked.problems.len();
    let mut summary = if mismatches == 0 {
        format!(
            "{}: {} ERL(s) match the MSAG",
            dir.display(),
            checked.verdicts.len()
        )
    } else {
        format!("{mismatches} ERL(s) do not match the MSAG")
    };
    if checked.skipped > 0 {
        summary.push_str(&format!("; {} outside the US not checked", checked.skipped));
    }
    let mut failed = mismatches > 0;
    if write {
        let plan = validated::plan(&checked.verdicts, &origins, &rows);
        let (written, trouble) = write_validated(dir, &plan)?;
        failed |= !trouble.is_empty();
        problems.extend(trouble);
        summary.push_str(&format!("; {written} validation cell(s) written"));
    }
    Ok(Provisioned {
        problems,
        summary,
        failed,
    })
}

/// Applies a validation plan to the files of `dir`; each file is replaced atomically.
fn write_validated(
    dir: &Path,
    plan: &e911_provisioning::validated::Plan,
) -> Result<(usize, Vec<String>)> {
    use e911_provisioning::validated::{RewriteError, rewrite};
    let mut written = 0;
    let mut trouble = Vec::new();
    for (file, edits) in &plan.files {
        let path = dir.join(file);
        let bytes =
            std::fs::read(&path).with_context(|| format!("{}: cannot read", path.display()))?;
        match rewrite(file, &bytes, edits) {
            Ok(out) if out.changed == 0 => {}
            Ok(out) => {
                let temp = dir.join(format!(".{file}.validated"));
                std::fs::write(&temp, &out.bytes)
                    .with_context(|| format!("{}: cannot write", temp.display()))?;
                std::fs::rename(&temp, &path)
                    .with_context(|| format!("{}: cannot replace", path.display()))?;
                written += out.changed;
            }
            Err(RewriteError::NoColumn(problem)) if plan.defining.contains(file) => {
                trouble.push(format!("{}/{problem}", dir.display()));
            }
            Err(RewriteError::NoColumn(_)) => {}
            Err(RewriteError::Unreadable(problem)) => {
                trouble.push(format!("{}/{problem}", dir.display()));
            }
        }
    }
    Ok((written, trouble))
}

/// Compiles a source folder, keeping element rows and ERL origins; every problem at once.
fn compile_with_origins(
    dir: &Path,
) -> Result<(
    e911_policy::Policy,
    Vec<e911_policy::ElementRow>,
    Vec<e911_policy::ErlOrigin>,
)> {
    if !dir.is_dir() {
        bail!("{}: not a policy source folder", dir.display());
    }
    read_sources(dir)?
        .compile_with_origins()
        .map_err(|problems| {
            anyhow::anyhow!(
                "{} problem(s) in the policy:\n{}",
                problems.len(),
                problem_lines(dir, &problems)
            )
        })
}

/// Days since 1970-01-01 by the system clock (the harness does the I/O the core does not).
fn today_unix_days() -> i64 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    i64::try_from(secs / 86_400).unwrap_or(0)
}
