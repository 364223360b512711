//! Following a registry tag: every poll interval one HEAD request for the tag's manifest
//! digest; only when it differs from the bundle in force is the artifact pulled and
//! verified (digests, signature, revision). A bundle older than the one in force is
//! refused like one that does not verify, unless `--allow-rollback` (`e911_policy::admit`,
//! the rule every host applies). A registry that is down, or a push that does
//! not verify, changes nothing: the caller keeps the last good bundle. A digest that was
//! refused is not pulled again until the tag moves; an outage is reported once, and again
//! only when the reason changes.

use std::time::{Duration, Instant};

use anyhow::Result;
use e911_policy::{Bundle, PublicKey, Rollback};
use oci_client::Reference;

use super::client::{Registry, parse_reference};
use super::layout::Kind;
use super::{FollowArgs, RegistryArgs, verify};

/// A bundle pulled and verified.
pub struct Followed {
    /// The manifest digest it came from.
    pub digest: String,
    /// The bundle file's bytes, as pushed.
    pub bytes: Vec<u8>,
    /// The bundle, loaded and verified.
    pub bundle: Bundle,
}

/// The outcome of one look at the tag.
pub enum Update {
    /// Not due yet, the digest is the one in force, or a failure already reported.
    Unchanged,
    /// A new bundle, verified.
    New(Box<Followed>),
    /// The registry could not be reached or read (first report of this reason).
    Unreachable(String),
    /// The registry answers again after an outage; the tag has not moved.
    Reachable,
    /// What the tag names now did not verify (reported once per digest).
    Refused(String),
}

/// Follows one tag.
pub struct Follower {
    spec: String,
    reference: Reference,
    registry: Registry,
    keys: Vec<PublicKey>,
    every: Duration,
    next: Instant,
    current: Option<String>,
    /// The revision of the bundle in force.
    revision: Option<String>,
    rollback: Rollback,
    refused: Option<String>,
    failure: Option<String>,
}

impl Follower {
    /// A follower for `spec` (`oci://REGISTRY/REPO:TAG`); nothing is fetched yet.
    pub fn new(
        spec: &str,
        registry: &RegistryArgs,
        follow: &FollowArgs,
        keys: Vec<PublicKey>,
    ) -> Result<Self> {
        let reference = parse_reference(spec)?;
        let client = Registry::connect(&reference, registry)?;
        Ok(Self {
            spec: spec.to_owned(),
            reference,
            registry: client,
            keys,
            every: follow.poll_seconds,
            next: Instant::now(),
            current: None,
            revision: None,
            rollback: follow.rollback(),
            refused: None,
            failure: None,
        })
    }

    /// The followed reference as given.
    pub fn spec(&self) -> &str {
        &self.spec
    }

    /// The poll interval.
    pub fn interval(&self) -> Duration {
        self.every
    }

    /// Pulls whatever the tag names now (at start: there is no bundle to keep yet).
    pub fn pull_now(&mut self) -> Result<Followed> {
        self.next = Instant::now() + self.every;
        let followed = self.pull()?;
        self.current = Some(followed.digest.clone());
        self.revision = Some(followed.bundle.info().revision.clone());
        Ok(followed)
    }

    /// Looks at the tag if the interval has passed since the last look.
    pub fn poll(&mut self) -> Update {
        let now = Instant::now();
        if now < self.next {
            return Update::Unchanged;
        }
        self.next = now + self.every;
        let digest = match self.registry.digest(&self.reference) {
            Ok(digest) => digest,
            Err(err) => return self.unreachable(format!("{err:#}")),
        };
        if Some(&digest) == self.current.as_ref() || Some(&digest) == self.refused.as_ref() {
            return match self.failure.take() {
                Some(_) => Update::Reachable,
                None => Update::Unchanged,
            };
        }
        match self.pull() {
            Ok(followed) if followed.digest == digest => {
                self.failure = None;
                let revision = &followed.bundle.info().revision;
                if let Err(older) =
                    e911_policy::admit(self.revision.as_deref(), revision, self.rollback)
                {
                    self.refused = Some(digest.clone());
                    return Update::Refused(format!(
                        "{} ({digest}): {older}; --allow-rollback accepts it",
                        self.spec
                    ));
                }
                self.revision = Some(revision.clone());
                self.current = Some(digest);
                Update::New(Box::new(followed))
            }
            // The tag moved between the HEAD and the pull: take it at the next look.
            Ok(_) => Update::Unchanged,
            Err(err) => {
                let text = format!("{} ({digest}): {err:#}", self.spec);
                // A transport failure is worth another try at the next look; refused
                // content is not, until the tag moves.
                if verify::is_refused(&err) {
                    self.refused = Some(digest);
                    self.failure = None;
                    Update::Refused(text)
                } else {
                    self.unreachable(text)
                }
            }
        }
    }

    fn unreachable(&mut self, text: String) -> Update {
        if self.failure.as_ref() == Some(&text) {
            return Update::Unchanged;
        }
        self.failure = Some(text.clone());
        Update::Unreachable(text)
    }

    fn pull(&self) -> Result<Followed> {
        let pulled = self.registry.pull(&self.reference)?;
        if pulled.kind != Kind::Bundle {
            return Err(verify::refused(format!(
                "{} is a {}, not a policy bundle",
                self.spec,
                pulled.kind.name()
            )));
        }
        let bundle = verify::bundle(&pulled.file, &self.keys, &pulled.manifest)?;
        Ok(Followed {
            digest: pulled.digest,
            bytes: pulled.file,
            bundle,
        })
    }
}
