//! End-to-end: two `e911-harness proxy` replicas sharing ELIN callback state through a
//! real three-member etcd cluster (Debian's `etcd-server`) on loopback, with SIPp callers
//! and callees. The callees check what they receive (`uas-elin.xml`: an ELIN as caller;
//! `uas-callback.xml`: a PSAP callback re-targeted to the caller), so a callback that went
//! to the fallback fails the call.
//!
//! Below them, store-level tests race replicas on one ELIN and reconcile an outage's
//! mappings against a real cluster through `e911-etcd` directly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

mod common;
use common::etcd::Cluster;
use common::http::webhook;
use common::policy::loopback_sources;
use common::ports::{free_port, scratch};
use common::process::{Guard, wait_until};
use common::proxy::{audit, audit_events, proxy_log, start_proxy};
use common::sipp::{Sipp, require_sipp, uac, uas};
use e911_engine::{CallbackEntry, CallbackStore, MemoryStore};
use e911_etcd::{Connection, Replicated, Session, Settings};

/// Wichita's ELINs in the example bundle.
const ELINS: [&str; 2] = ["+13165550100", "+13165550101"];

/// One proxy replica: its SIP address and state folder.
struct Replica {
    name: &'static str,
    addr: String,
    state: PathBuf,
    args: Vec<String>,
    process: Option<Guard>,
}

impl Replica {
    /// Starts replica `name` over `bundle` with `--etcd` on `cluster`; the ELIN trunk and
    /// the caller's phone answer at `elin` and `caller`.
    fn start(
        dir: &Path,
        name: &'static str,
        bundle: &Path,
        etcd: &str,
        elin: &str,
        caller: &str,
    ) -> Self {
        let port = free_port("127.0.0.1");
        let state = dir.join(format!("state-{name}"));
        let args = vec![
            format!("--listen=udp:127.0.0.1:{port}"),
            format!("--policy={}", bundle.display()),
            format!("--upstream={caller}"),
            format!("--elin-upstream={elin}"),
            format!("--state-dir={}", state.display()),
            format!("--etcd={etcd}"),
        ];
        let mut replica = Self {
            name,
            addr: format!("127.0.0.1:{port}"),
            state,
            args,
            process: None,
        };
        replica.restart(dir);
        replica
    }

    fn restart(&mut self, dir: &Path) {
        let log_dir = dir.join(self.name);
        std::fs::create_dir_all(&log_dir).unwrap();
        self.process = Some(start_proxy(&self.args, &log_dir));
    }

    /// SIGKILLs the proxy; its state folder stays.
    fn crash(&mut self) {
        let mut process = self.process.take().unwrap();
        process.child().kill().unwrap();
        let _ = process.child().wait();
    }

    /// SIGKILLs the proxy and forgets its state folder: what it knew must come from etcd.
    fn crash_and_lose_state(&mut self) {
        self.crash();
        std::fs::remove_dir_all(&self.state).unwrap();
    }

    fn log(&self, dir: &Path) -> String {
        proxy_log(&dir.join(self.name))
    }

    /// The ELIN each emergency call through this replica was given, by Call-ID.
    fn elins(&self) -> Vec<(String, String)> {
        audit(&self.state)
            .into_iter()
            .filter(|r| r["kind"] == "emergency")
            .map(|r| {
                (
                    r["call_id"].as_str().unwrap().to_owned(),
                    r["elin"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }

    fn degraded(&self) -> Vec<serde_json::Value> {
        audit(&self.state)
            .into_iter()
            .filter(|r| !r["degraded"].is_null())
            .collect()
    }
}

/// The two replicas' logs, for a failed SIPp.
fn logs(dir: &Path, replicas: &[&Replica]) -> String {
    replicas
        .iter()
        .map(|r| format!("--- {}:\n{}", r.name, r.log(dir)))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_calls(dir: &Path, sipp: &mut Sipp, calls: u64, replicas: &[&Replica]) {
    sipp.assert_calls(calls, || logs(dir, replicas));
}

/// Wichita (127.2.0.x, on the ELIN gateway route) dials 911 `calls` times through `via`.
fn wichita(dir: &Path, name: &str, via: &str, calls: u32, rate: u32) -> Sipp {
    let (m, r) = (calls.to_string(), rate.to_string());
    uac(
        dir,
        name,
        via,
        "127.2.0.10",
        "911",
        &["-t", "u1", "-m", &m, "-r", &r],
    )
}

/// A PSAP (127.9.0.1, a carrier network) calls `elin` back through `via`.
fn psap(dir: &Path, name: &str, via: &str, elin: &str) -> Sipp {
    uac(dir, name, via, "127.9.0.1", elin, &["-t", "u1", "-m", "1"])
}

/// The bundle: contoso on loopback with only the callers' networks trusted, so that the
/// PSAP's network is a carrier's.
fn bundle(dir: &Path) -> PathBuf {
    loopback_sources(dir, &webhook().url, &["127.1.0.0/16", "127.2.0.0/16"])
}

/// What both end-to-end tests start with: a three-member cluster, the ELIN trunk and the
/// caller's phone as SIPp callees expecting `elin_calls` and `caller_calls` calls, and two
/// replicas on the cluster.
struct Pair {
    dir: PathBuf,
    cluster: Cluster,
    elin: Sipp,
    caller: Sipp,
    a: Replica,
    b: Replica,
}

impl Pair {
    fn start(name: &str, elin_calls: u32, caller_calls: u32) -> Self {
        let dir = scratch(name);
        let cluster = Cluster::start(&dir, 3);
        let bundle = bundle(&dir);
        let (elin_port, caller_port) = (free_port("127.0.0.6"), free_port("127.0.0.7"));
        let elin = uas(
            &dir,
            "elin",
            "uas-elin.xml",
            "127.0.0.6",
            elin_port,
            "u1",
            elin_calls,
        );
        let caller = uas(
            &dir,
            "caller",
            "uas-callback.xml",
            "127.0.0.7",
            caller_port,
            "u1",
            caller_calls,
        );
        std::thread::sleep(Duration::from_millis(300));
        let (etcd, elin_addr, caller_addr) = (
            cluster.endpoints(),
            format!("127.0.0.6:{elin_port}"),
            format!("127.0.0.7:{caller_port}"),
        );
        let a = Replica::start(&dir, "a", &bundle, &etcd, &elin_addr, &caller_addr);
        let b = Replica::start(&dir, "b", &bundle, &etcd, &elin_addr, &caller_addr);
        Self {
            dir,
            cluster,
            elin,
            caller,
            a,
            b,
        }
    }
}

/// A callback placed through replica B reaches the caller whose call replica A gave the
/// ELIN; concurrent calls through both replicas get distinct ELINs; a killed etcd member
/// costs no call and degrades none; a replica that lost its state folder still routes a
/// callback for a call the other replica handled.
#[test]
fn replicas_share_elin_callbacks_through_etcd() {
    require_sipp();
    let load = 10;
    let Pair {
        dir,
        mut cluster,
        mut elin,
        mut caller,
        a,
        mut b,
    } = Pair::start("replicated", 2 + load, 2);

    // One call through each replica at the same moment: two ELINs, one per call.
    let mut first_a = wichita(&dir, "wichita-a", &a.addr, 1, 1);
    let mut first_b = wichita(&dir, "wichita-b", &b.addr, 1, 1);
    assert_calls(&dir, &mut first_a, 1, &[&a, &b]);
    assert_calls(&dir, &mut first_b, 1, &[&a, &b]);
    let given: BTreeSet<String> = a
        .elins()
        .into_iter()
        .chain(b.elins())
        .map(|(_, e)| e)
        .collect();
    assert_eq!(
        given,
        ELINS.iter().map(|e| (*e).to_owned()).collect(),
        "each replica's call got its own ELIN"
    );
    let (a_call, a_elin) = a.elins().pop().unwrap();
    let stored = cluster.get(&format!("/e911/callbacks/{a_elin}")).unwrap();
    assert!(stored.contains(&a_call), "etcd holds A's mapping: {stored}");

    // The PSAP calls A's ELIN back through B.
    let mut back = psap(&dir, "psap-b", &b.addr, &a_elin);
    assert_calls(&dir, &mut back, 1, &[&a, &b]);

    // A follower killed while calls flow through both replicas: none fails or degrades.
    let follower = cluster.follower();
    let mut load_a = wichita(&dir, "load-a", &a.addr, load / 2, 10);
    let mut load_b = wichita(&dir, "load-b", &b.addr, load / 2, 10);
    std::thread::sleep(Duration::from_millis(200));
    cluster.kill(follower);
    assert_calls(&dir, &mut load_a, (load / 2).into(), &[&a, &b]);
    assert_calls(&dir, &mut load_b, (load / 2).into(), &[&a, &b]);
    assert_calls(&dir, &mut elin, (2 + load).into(), &[&a, &b]);
    assert_eq!(
        a.degraded(),
        Vec::<serde_json::Value>::new(),
        "A degraded nothing"
    );
    assert_eq!(
        b.degraded(),
        Vec::<serde_json::Value>::new(),
        "B degraded nothing"
    );

    // B crashes and loses its state folder; the PSAP calls back the ELIN of A's
    // first call... which the load may have given again. The mapping in etcd decides,
    // and the callee checks the caller's URI either way.
    b.crash_and_lose_state();
    b.restart(&dir);
    let mut again = psap(&dir, "psap-b-restarted", &b.addr, &a_elin);
    assert_calls(&dir, &mut again, 1, &[&a, &b]);
    assert_calls(&dir, &mut caller, 2, &[&a, &b]);
    let callbacks = audit(&b.state)
        .into_iter()
        .filter(|r| r["kind"] == "callback")
        .count();
    assert_eq!(
        callbacks, 1,
        "the restarted B audits the callback it routed"
    );
}

/// With all of etcd down, calls through both replicas still go out, marked degraded and
/// audited. Each replica, alone, gives the same first ELIN; when etcd is back both
/// mappings are written, the clash is audited as a conflict, and a callback through
/// either replica then follows etcd's mapping.
#[test]
fn calls_go_out_degraded_while_etcd_is_down_and_their_mappings_follow() {
    require_sipp();
    let Pair {
        dir,
        mut cluster,
        mut elin,
        mut caller,
        a,
        b,
    } = Pair::start("etcd-down", 2, 1);

    cluster.stop();
    let mut call_a = wichita(&dir, "wichita-a", &a.addr, 1, 1);
    assert_calls(&dir, &mut call_a, 1, &[&a, &b]);
    let mut call_b = wichita(&dir, "wichita-b", &b.addr, 1, 1);
    assert_calls(&dir, &mut call_b, 1, &[&a, &b]);
    assert_calls(&dir, &mut elin, 2, &[&a, &b]);
    for replica in [&a, &b] {
        let degraded = replica.degraded();
        assert_eq!(
            degraded.len(),
            1,
            "{}: the call is audited as degraded: {degraded:#?}",
            replica.name
        );
        let why = degraded[0]["degraded"].as_str().unwrap();
        assert!(why.contains("callback store (etcd)"), "{why}");
    }
    let (a_call, given) = a.elins().pop().unwrap();
    let (b_call, b_given) = b.elins().pop().unwrap();
    assert_eq!(given, ELINS[0], "A alone gives the first ELIN");
    assert_eq!(b_given, ELINS[0], "so does B");

    // etcd comes back: both syncs write, one finds the other's mapping.
    cluster.restart();
    let key = format!("/e911/callbacks/{given}");
    let conflicts = || {
        audit_events(&a.state)
            .into_iter()
            .chain(audit_events(&b.state))
            .filter(|e| e["event"] == "callback-conflict")
            .collect::<Vec<_>>()
    };
    wait_until(
        "the outage's mappings reconciled",
        Duration::from_secs(20),
        || !conflicts().is_empty(),
    );
    let conflict = conflicts().pop().unwrap();
    let kept = conflict["kept_call_id"].as_str().unwrap().to_owned();
    let displaced = conflict["displaced_call_id"].as_str().unwrap();
    assert_eq!(
        BTreeSet::from([kept.as_str(), displaced]),
        BTreeSet::from([a_call.as_str(), b_call.as_str()]),
        "{conflict:#}"
    );
    let stored = cluster.get(&key).unwrap();
    assert!(stored.contains(&kept), "etcd keeps {kept}: {stored}");

    let mut back = psap(&dir, "psap-b", &b.addr, &given);
    assert_calls(&dir, &mut back, 1, &[&a, &b]);
    assert_calls(&dir, &mut caller, 1, &[&a, &b]);
    let status = std::fs::read_to_string(a.state.join("status.json")).unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let store = &status["callback_store"];
    assert_eq!(store["fallbacks"], 1, "{status:#}");
    assert_eq!(store["pending"], 0, "{status:#}");
}

/// A replica restarted on its state folder offers etcd only the mappings it decided
/// itself and could not write: what it had merely copied from etcd (the other replica's
/// calls) is not its to write, and offering it, when etcd has moved on, would audit a
/// conflict between two calls that never clashed.
#[test]
fn a_restarted_replica_does_not_offer_etcd_what_it_only_copied() {
    require_sipp();
    let Pair {
        dir,
        cluster,
        mut elin,
        caller: _caller,
        a,
        mut b,
    } = Pair::start("etcd-restart", 3, 0);
    let mut first = wichita(&dir, "first", &a.addr, 1, 1);
    assert_calls(&dir, &mut first, 1, &[&a, &b]);
    let (first_call, given) = a.elins().pop().unwrap();
    let copied = || {
        std::fs::read_to_string(b.state.join("callbacks.json"))
            .unwrap_or_default()
            .contains(&first_call)
    };
    wait_until("B's copy to hold A's call", Duration::from_secs(10), copied);
    b.crash();
    // While B is down, A gives both ELINs again: etcd's mapping of the first one is now a
    // newer call than B's copy holds.
    let mut more = wichita(&dir, "more", &a.addr, 2, 2);
    assert_calls(&dir, &mut more, 2, &[&a]);
    assert_calls(&dir, &mut elin, 3, &[&a]);
    let key = format!("/e911/callbacks/{given}");
    let stored = cluster.get(&key).unwrap();
    assert!(
        !stored.contains(&first_call),
        "A gave {given} to a later call: {stored}"
    );

    b.restart(&dir);
    // Three rounds of B's sync.
    std::thread::sleep(Duration::from_secs(3));
    let conflicts: Vec<_> = audit_events(&b.state)
        .into_iter()
        .filter(|e| e["event"] == "callback-conflict")
        .collect();
    assert_eq!(
        conflicts,
        Vec::<serde_json::Value>::new(),
        "B audited a conflict"
    );
    assert_eq!(
        cluster.get(&key).unwrap(),
        stored,
        "etcd keeps A's later mapping"
    );
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn settings(cluster: &Cluster) -> Settings {
    Settings {
        connection: Connection {
            endpoints: cluster.endpoints().split(',').map(str::to_owned).collect(),
            ..Connection::default()
        },
        prefix: "/e911/".to_owned(),
        wait: Duration::from_millis(500),
        grace: 60,
    }
}

fn entry(call_id: &str, caller: &str, assigned_at: u64) -> CallbackEntry {
    CallbackEntry {
        caller: caller.to_owned(),
        call_id: call_id.to_owned(),
        assigned_at,
        expires_at: assigned_at + 1800,
        uses: 1,
        policy: None,
    }
}

/// Eight replicas read an ELIN free at once and all try to take it: exactly one wins,
/// the others are told to decide again, and each loser's local copy then holds the
/// winner's mapping.
#[test]
fn of_replicas_racing_for_one_elin_exactly_one_wins() {
    let dir = scratch("race");
    let cluster = Cluster::start(&dir, 3);
    let racers = 8;
    let barrier = Arc::new(Barrier::new(racers));
    let outcomes: Vec<(bool, MemoryStore)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..racers)
            .map(|i| {
                let (barrier, settings) = (Arc::clone(&barrier), settings(&cluster));
                scope.spawn(move || {
                    let replica = Replicated::new(settings, [], now()).unwrap();
                    let session = Session::default();
                    let mut local = MemoryStore::default();
                    session.start(&replica);
                    assert_eq!(session.get(&replica, &local, ELINS[0]), None);
                    barrier.wait();
                    let ours = entry(
                        &format!("call-{i}"),
                        &format!("sip:caller-{i}@contoso.com"),
                        now(),
                    );
                    session.put(&replica, &mut local, ELINS[0], ours);
                    (!session.finish().lost_race, local)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let winners: Vec<&MemoryStore> = outcomes
        .iter()
        .filter(|(won, _)| *won)
        .map(|(_, l)| l)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one replica took the ELIN");
    let winner = winners[0].get(ELINS[0]).unwrap();
    let stored: CallbackEntry = serde_json::from_str(
        &cluster
            .get(&format!("/e911/callbacks/{}", ELINS[0]))
            .unwrap(),
    )
    .unwrap();
    assert_eq!(stored, winner, "etcd holds the winner's mapping");
    for (_, local) in outcomes.iter().filter(|(won, _)| !won) {
        assert_eq!(
            local.get(ELINS[0]).as_ref(),
            Some(&stored),
            "a loser's copy holds the winner's"
        );
    }
}

/// The engine reads the ELIN it chose a second time (for its use count). When another
/// replica took the ELIN between the two reads, the swap still compares with the first
/// read, and loses: the caller of the other replica keeps the mapping.
#[test]
fn a_second_read_does_not_let_a_replica_overwrite_a_taken_elin() {
    let dir = scratch("second-read");
    let cluster = Cluster::start(&dir, 1);
    let (a, b) = (
        Replicated::new(settings(&cluster), [], now()).unwrap(),
        Replicated::new(settings(&cluster), [], now()).unwrap(),
    );
    let (a_session, b_session) = (Session::default(), Session::default());
    let (mut a_local, mut b_local) = (MemoryStore::default(), MemoryStore::default());
    b_session.start(&b);
    assert_eq!(
        b_session.get(&b, &b_local, ELINS[0]),
        None,
        "B sees the ELIN free"
    );
    a_session.start(&a);
    a_session.get(&a, &a_local, ELINS[0]);
    a_session.put(
        &a,
        &mut a_local,
        ELINS[0],
        entry("call-a", "sip:alice@contoso.com", now()),
    );
    assert!(!a_session.finish().lost_race, "A takes it");
    let again = b_session.get(&b, &b_local, ELINS[0]).unwrap();
    assert_eq!(again.call_id, "call-a", "B's second read sees A's mapping");
    b_session.put(
        &b,
        &mut b_local,
        ELINS[0],
        entry("call-b", "sip:bob@contoso.com", now()),
    );
    assert!(
        b_session.finish().lost_race,
        "B's swap compares with its first read and loses"
    );
    let stored = cluster
        .get(&format!("/e911/callbacks/{}", ELINS[0]))
        .unwrap();
    assert!(
        stored.contains("call-a"),
        "etcd keeps A's mapping: {stored}"
    );
}

/// Mappings decided during an outage meet what another replica wrote meanwhile: the one
/// assigned last stays, the other is reported as a conflict for the audit log; a mapping
/// etcd lacks is simply written.
#[test]
fn an_outage_s_mappings_are_reconciled_and_conflicts_reported() {
    let dir = scratch("reconcile");
    let cluster = Cluster::start(&dir, 1);
    let t = now();
    // Replica B wrote both ELINs while A could not reach etcd.
    let b = Replicated::new(settings(&cluster), [], t).unwrap();
    let session = Session::default();
    let mut local = MemoryStore::default();
    session.start(&b);
    for (elin, call, at) in [(ELINS[0], "b-older", t - 20), (ELINS[1], "b-newer", t - 5)] {
        session.get(&b, &local, elin);
        session.put(&b, &mut local, elin, entry(call, "sip:bob@contoso.com", at));
    }
    assert_eq!(session.finish(), e911_etcd::Outcome::default());
    // A comes back with what it decided alone: ELIN 0 after B's call, ELIN 1 before it,
    // and a third mapping etcd never saw.
    let ours = [
        (
            ELINS[0].to_owned(),
            entry("a-newer", "sip:alice@contoso.com", t - 10),
        ),
        (
            ELINS[1].to_owned(),
            entry("a-older", "sip:alice@contoso.com", t - 30),
        ),
        (
            "+13165550199".to_owned(),
            entry("a-alone", "sip:alice@contoso.com", t - 1),
        ),
    ];
    let a = Replicated::new(settings(&cluster), ours, t).unwrap();
    let synced = a.sync(t).unwrap();
    let mut conflicts: Vec<(String, String, String)> = synced
        .conflicts
        .iter()
        .map(|c| {
            (
                c.elin.clone(),
                c.kept_call_id.clone(),
                c.displaced_call_id.clone(),
            )
        })
        .collect();
    conflicts.sort();
    assert_eq!(
        conflicts,
        [
            (
                ELINS[0].to_owned(),
                "a-newer".to_owned(),
                "b-older".to_owned()
            ),
            (
                ELINS[1].to_owned(),
                "b-newer".to_owned(),
                "a-older".to_owned()
            ),
        ]
    );
    let stored = |elin: &str| -> CallbackEntry {
        serde_json::from_str(&cluster.get(&format!("/e911/callbacks/{elin}")).unwrap()).unwrap()
    };
    assert_eq!(stored(ELINS[0]).call_id, "a-newer");
    assert_eq!(stored(ELINS[1]).call_id, "b-newer");
    assert_eq!(stored("+13165550199").call_id, "a-alone");
    let health = a.health();
    assert_eq!(
        (health.pending, health.counters.conflicts),
        (0, 2),
        "{health:?}"
    );
    // The mirror is etcd's view: every mapping, the winners' side of each conflict.
    let mirrored: BTreeSet<(String, String)> = synced
        .mirror
        .iter()
        .map(|(elin, e)| (elin.clone(), e.call_id.clone()))
        .collect();
    assert!(
        mirrored.contains(&(ELINS[1].to_owned(), "b-newer".to_owned())),
        "{mirrored:?}"
    );
}
