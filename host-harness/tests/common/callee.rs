//! A SIP callee over TCP that can be stopped and started again and remembers every INVITE
//! that reached it: a trunk or an upstream in the chaos tests.
//!
//! It answers every INVITE 100 then 200 (its To tagged), every BYE and CANCEL
//! 200, and nothing else. It frames with the framer the hosts use, so the garbage a proxy
//! passes on as received does not stop it either.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use e911_sip::{Limits, Piece, StreamFramer};

/// What a trunk heard.
#[derive(Debug, Default)]
struct Heard {
    /// Call-ID → the INVITE that arrived.
    invites: HashMap<String, String>,
    /// Whether each carried a PIDF-LO.
    with_location: usize,
}

/// A SIP callee on `addr`.
pub struct Callee {
    pub addr: String,
    heard: Arc<Mutex<Heard>>,
    running: Arc<AtomicBool>,
    /// The thread that holds the listening socket, while it listens.
    listening: Mutex<Option<JoinHandle<()>>>,
    /// Open connections by a number of their own, so `stop` can cut them; each leaves
    /// when its peer closes it (a long run would otherwise hold every socket open).
    conns: Arc<Mutex<HashMap<u64, TcpStream>>>,
    next_conn: Arc<AtomicU64>,
}

impl Callee {
    /// Starts listening on `addr`.
    pub fn start(addr: &str) -> Self {
        let callee = Self {
            addr: addr.to_owned(),
            heard: Arc::default(),
            running: Arc::new(AtomicBool::new(false)),
            listening: Mutex::new(None),
            conns: Arc::default(),
            next_conn: Arc::default(),
        };
        callee.resume();
        callee
    }

    /// Stops: closes the listening socket (a connect is refused) and every connection.
    pub fn stop(&self) {
        self.stop_accepting();
        for (_, conn) in self.conns.lock().unwrap().drain() {
            let _ = conn.shutdown(Shutdown::Both);
        }
    }

    /// Closes the listening socket only (a connect is refused); calls on connections
    /// already open finish.
    pub fn stop_accepting(&self) {
        self.running.store(false, Ordering::SeqCst);
        if let Some(thread) = self.listening.lock().unwrap().take() {
            thread.join().unwrap();
        }
    }

    /// Whether it is stopped.
    pub fn stopped(&self) -> bool {
        self.listening.lock().unwrap().is_none()
    }

    /// Listens again (if stopped).
    pub fn resume(&self) {
        let mut listening = self.listening.lock().unwrap();
        if listening.is_some() {
            return;
        }
        let listener = TcpListener::bind(&self.addr)
            .unwrap_or_else(|err| panic!("cannot listen on {} again: {err}", self.addr));
        // Polled, so that `stop` closes the socket at once without a connection to wake it.
        listener.set_nonblocking(true).unwrap();
        self.running.store(true, Ordering::SeqCst);
        let (running, heard, conns, next) = (
            Arc::clone(&self.running),
            Arc::clone(&self.heard),
            Arc::clone(&self.conns),
            Arc::clone(&self.next_conn),
        );
        *listening = Some(std::thread::spawn(move || {
            let take = |conn: TcpStream| {
                conn.set_nonblocking(false).unwrap();
                let id = next.fetch_add(1, Ordering::Relaxed);
                conns.lock().unwrap().insert(id, conn.try_clone().unwrap());
                let (heard, conns) = (Arc::clone(&heard), Arc::clone(&conns));
                std::thread::spawn(move || {
                    answer(conn, &heard);
                    conns.lock().unwrap().remove(&id);
                });
            };
            while running.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => take(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
            // Connections the kernel already completed would be reset when the socket
            // closes, and a proxy would lose what it sent on them: a crash, not the port
            // closing that `stop` means. Take them first.
            while let Ok((conn, _)) = listener.accept() {
                take(conn);
            }
        }));
    }

    /// Call-IDs of the INVITEs that arrived.
    pub fn invites(&self) -> HashSet<String> {
        self.heard.lock().unwrap().invites.keys().cloned().collect()
    }

    /// The INVITE of `call_id` as it arrived.
    pub fn invite(&self, call_id: &str) -> Option<String> {
        self.heard.lock().unwrap().invites.get(call_id).cloned()
    }

    /// How many arrived with a PIDF-LO.
    pub fn with_location(&self) -> usize {
        self.heard.lock().unwrap().with_location
    }
}

fn answer(mut conn: TcpStream, heard: &Mutex<Heard>) {
    let mut framer = StreamFramer::default();
    let mut buf = [0u8; 16 * 1024];
    let limits = Limits::DEFAULT.with_max_message_bytes(1 << 20);
    loop {
        let n = match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let mut replies: Vec<Vec<u8>> = Vec::new();
        framer.feed(&buf[..n], false, &limits, |piece| {
            if let Piece::Message(message) = piece {
                replies.extend(reply(message, heard));
            }
        });
        for r in replies {
            if conn.write_all(&r).is_err() {
                return;
            }
        }
    }
}

/// The answers to one message.
fn reply(message: &[u8], heard: &Mutex<Heard>) -> Vec<Vec<u8>> {
    let text = String::from_utf8_lossy(message);
    let header = |name: &str| {
        text.lines()
            .filter(|l| {
                l.split(':')
                    .next()
                    .is_some_and(|n| n.trim().eq_ignore_ascii_case(name))
            })
            .map(|l| format!("{l}\r\n"))
            .collect::<String>()
    };
    let echo = format!(
        "{}{}{}{}",
        header("Via"),
        header("From"),
        header("Call-ID"),
        header("CSeq")
    );
    let to = header("To");
    let call_id = header("Call-ID")
        .split_once(':')
        .map(|(_, v)| v.trim().to_owned())
        .unwrap_or_default();
    let answer = |status: &str, to: &str| {
        format!("SIP/2.0 {status}\r\n{echo}{to}Content-Length: 0\r\n\r\n").into_bytes()
    };
    if text.starts_with("INVITE ") {
        let mut heard = heard.lock().unwrap();
        heard.invites.insert(call_id, text.clone().into_owned());
        if text.contains("application/pidf+xml") {
            heard.with_location += 1;
        }
        let tagged = format!("{};tag=trunk\r\n", to.trim_end());
        vec![answer("100 Trying", &to), answer("200 OK", &tagged)]
    } else if text.starts_with("BYE ") || text.starts_with("CANCEL ") {
        vec![answer("200 OK", &to)]
    } else {
        Vec::new()
    }
}
