//! The effects of a verdict, performed by the host without holding up the call: the audit
//! log (one JSON line per audited verdict, appended and flushed before the message is
//! forwarded), metric counters, and notifications, handed to a worker thread through a
//! bounded queue (a full queue drops the notification and says so; it never blocks).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Mutex;
use std::sync::mpsc::{SyncSender, TrySendError, sync_channel};

use anyhow::{Context, Result};
use e911_engine::{Notification, Verdict};

use super::lock;
use super::notify;

/// How many notifications may wait for the worker.
const QUEUE: usize = 256;

/// Audit log, metrics and the notification queue.
pub struct Effects {
    audit: Option<Mutex<File>>,
    notifier: SyncSender<Notification>,
    metrics: Mutex<BTreeMap<String, u64>>,
}

impl Effects {
    /// Opens `STATE_DIR/audit.jsonl` for appending (when there is a state dir) and starts
    /// the notification worker.
    pub fn start(state_dir: Option<&Path>) -> Result<Self> {
        let audit = match state_dir {
            Some(dir) => {
                let path = dir.join("audit.jsonl");
                let file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&path)
                    .with_context(|| format!("{}: cannot open", path.display()))?;
                Some(Mutex::new(file))
            }
            None => None,
        };
        let (notifier, queue) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("notify".to_owned())
            .spawn(move || notify::worker(queue))
            .context("starting the notification worker")?;
        Ok(Self {
            audit,
            notifier,
            metrics: Mutex::new(BTreeMap::new()),
        })
    }

    /// Performs a verdict's effects: audit line (written and flushed now), counters, and
    /// notifications queued for the worker.
    pub fn apply(&self, verdict: &Verdict) {
        if verdict.is_audited() {
            self.audit(verdict);
        }
        {
            let mut metrics = lock(&self.metrics);
            for name in &verdict.metrics {
                *metrics.entry(name.as_str().to_owned()).or_default() += 1;
            }
        }
        for notification in &verdict.notifications {
            match self.notifier.try_send(notification.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(n)) => {
                    eprintln!(
                        "e911-harness proxy: notification queue full; dropped {}",
                        n.target
                    );
                    self.count("proxy.notification.dropped");
                }
                Err(TrySendError::Disconnected(_)) => self.count("proxy.notification.dropped"),
            }
        }
    }

    /// Increments a counter of the proxy's own.
    pub fn count(&self, name: &str) {
        *lock(&self.metrics).entry(name.to_owned()).or_default() += 1;
    }

    /// The counters so far.
    pub fn metrics(&self) -> BTreeMap<String, u64> {
        lock(&self.metrics).clone()
    }

    fn audit(&self, verdict: &Verdict) {
        self.record(&verdict.report);
    }

    /// Appends one line of the proxy's own to the audit log (a failover step), written
    /// and flushed before the call goes on.
    pub fn record(&self, record: &impl serde::Serialize) {
        let Some(file) = &self.audit else { return };
        let line = match serde_json::to_string(record) {
            Ok(mut line) => {
                line.push('\n');
                line
            }
            Err(err) => {
                eprintln!("e911-harness proxy: audit record not encoded: {err}");
                return;
            }
        };
        let mut file = lock(file);
        if let Err(err) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
            eprintln!("e911-harness proxy: audit log not written: {err}");
        }
    }
}
