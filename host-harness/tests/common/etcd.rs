//! A real etcd cluster on loopback (Debian's `etcd-server`): members started, killed and
//! started again on their own data folders, and read directly through `e911-etcd`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e911_etcd::{Client, Connection};

use super::ports::free_port;
use super::process::{Guard, wait_until_explained};
use super::tools::require_program;

/// Fails the test with the install hint when `etcd` is missing.
pub fn require_etcd() {
    require_program("etcd", "--version", "etcd-server");
}

struct Member {
    name: String,
    client: String,
    peer: String,
    data: PathBuf,
    log: PathBuf,
    process: Option<Guard>,
}

/// A cluster of members on 127.0.0.1, elections tuned for loopback (50 ms heartbeats).
pub struct Cluster {
    members: Vec<Member>,
    initial: String,
}

impl Cluster {
    /// Starts `size` members under `dir` and waits until the cluster answers.
    pub fn start(dir: &Path, size: usize) -> Self {
        require_etcd();
        let members: Vec<Member> = (0..size)
            .map(|i| Member {
                name: format!("m{i}"),
                client: format!("http://127.0.0.1:{}", free_port("127.0.0.1")),
                peer: format!("http://127.0.0.1:{}", free_port("127.0.0.1")),
                data: dir.join(format!("etcd-m{i}")),
                log: dir.join(format!("etcd-m{i}.log")),
                process: None,
            })
            .collect();
        let initial = members
            .iter()
            .map(|m| format!("{}={}", m.name, m.peer))
            .collect::<Vec<_>>()
            .join(",");
        let mut cluster = Self { members, initial };
        for i in 0..size {
            cluster.start_member(i);
        }
        cluster.wait_healthy();
        cluster
    }

    /// Every member's client URL, comma-separated (the proxies' `--etcd`).
    pub fn endpoints(&self) -> String {
        self.members
            .iter()
            .map(|m| m.client.clone())
            .collect::<Vec<_>>()
            .join(",")
    }

    fn start_member(&mut self, i: usize) {
        let initial = self.initial.clone();
        let member = &mut self.members[i];
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&member.log)
            .unwrap();
        member.process = Some(Guard::spawn(
            Command::new("etcd")
                .args(["--name", &member.name])
                .arg("--data-dir")
                .arg(&member.data)
                .args(["--listen-client-urls", &member.client])
                .args(["--advertise-client-urls", &member.client])
                .args(["--listen-peer-urls", &member.peer])
                .args(["--initial-advertise-peer-urls", &member.peer])
                .args(["--initial-cluster", &initial])
                .args(["--initial-cluster-state", "new"])
                .args(["--initial-cluster-token", "e911-test"])
                .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
                .args(["--logger", "zap", "--log-outputs", "stderr"])
                .stdout(Stdio::null())
                .stderr(log),
        ));
    }

    /// Kills member `i` (SIGKILL).
    pub fn kill(&mut self, i: usize) {
        if let Some(mut process) = self.members[i].process.take() {
            process.child().kill().unwrap();
            let _ = process.child().wait();
        }
    }

    /// Kills every member.
    pub fn stop(&mut self) {
        for i in 0..self.members.len() {
            self.kill(i);
        }
    }

    /// Starts every member that is not running, on its data folder, and waits for the
    /// cluster.
    pub fn restart(&mut self) {
        for i in 0..self.members.len() {
            if self.members[i].process.is_none() {
                self.start_member(i);
            }
        }
        self.wait_healthy();
    }

    /// A member that does not lead the cluster.
    pub fn follower(&self) -> usize {
        (0..self.members.len())
            .find(|&i| {
                let (id, leader) = self
                    .client_of(i)
                    .status(Instant::now() + Duration::from_secs(2))
                    .unwrap();
                id != leader
            })
            .expect("a cluster of several members has a follower")
    }

    /// A client for every member.
    pub fn client(&self) -> Client {
        Client::new(&Connection {
            endpoints: self.members.iter().map(|m| m.client.clone()).collect(),
            ..Connection::default()
        })
        .unwrap()
    }

    fn client_of(&self, i: usize) -> Client {
        Client::new(&Connection {
            endpoints: vec![self.members[i].client.clone()],
            ..Connection::default()
        })
        .unwrap()
    }

    /// The value at `key`, as text.
    pub fn get(&self, key: &str) -> Option<String> {
        let found = self
            .client()
            .get(key, Instant::now() + Duration::from_secs(2))
            .ok()??;
        Some(String::from_utf8(found.value).unwrap())
    }

    fn wait_healthy(&self) {
        let client = self.client();
        let logs = || {
            self.members
                .iter()
                .map(|m| std::fs::read_to_string(&m.log).unwrap_or_default())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let start = Instant::now();
        while client
            .get("/e911-test/health", Instant::now() + Duration::from_secs(1))
            .is_err()
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "etcd did not come up:\n{}",
                logs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        // Every started member must know the leader. When one does not in time, the logs
        // say why (a port taken between `free_port` and etcd's bind, say).
        wait_until_explained(
            "every member up",
            Duration::from_secs(30),
            || {
                (0..self.members.len()).all(|i| {
                    self.members[i].process.is_none()
                        || self
                            .client_of(i)
                            .status(Instant::now() + Duration::from_secs(1))
                            .is_ok_and(|(_, leader)| leader != "0")
                })
            },
            logs,
        );
    }
}
