//! Trunks that fail the ways a provider's can (503, 424, port closed, silent) or answer, over
//! TCP on loopback: what the failover tests put behind a proxy.

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use super::ports::free_port;
use super::sipp::{Sipp, uas};

/// How a trunk behaves in a test.
pub enum Trunk {
    /// SIPp answers 503 (`uas-503.xml`).
    Refuses,
    /// SIPp answers 424 Bad Location Information to a located call (`uas-424.xml`; the
    /// ECRC's trunk, sent no PIDF-LO by the harness proxy, `uas-424-ecrc.xml`).
    BadLocation,
    /// Nothing listens on its port.
    Closed,
    /// Accepts the connection, reads, never answers.
    Silent,
    /// SIPp answers the call, checking Geolocation and the PIDF-LO part.
    Answers,
}

/// A trunk as set up: its address and what observes it.
pub struct Running {
    pub addr: String,
    pub sipp: Option<Sipp>,
    pub heard: Option<Arc<Mutex<Vec<u8>>>>,
}

pub fn start(dir: &Path, name: &str, ip: &str, trunk: &Trunk) -> Running {
    let port = free_port(ip);
    let addr = format!("{ip}:{port}");
    let sipp = |xml: &str| Some(uas(dir, name, xml, ip, port, "t1", 1));
    match trunk {
        Trunk::Refuses => Running {
            addr,
            sipp: sipp("uas-503.xml"),
            heard: None,
        },
        Trunk::BadLocation if name == "redmond-pstn" => Running {
            addr,
            sipp: sipp("uas-424-ecrc.xml"),
            heard: None,
        },
        Trunk::BadLocation => Running {
            addr,
            sipp: sipp("uas-424.xml"),
            heard: None,
        },
        Trunk::Answers if name == "redmond-pstn" => Running {
            addr,
            sipp: sipp("uas.xml"),
            heard: None,
        },
        Trunk::Answers => Running {
            addr,
            sipp: sipp("uas-failover-trunk.xml"),
            heard: None,
        },
        Trunk::Closed => Running {
            addr,
            sipp: None,
            heard: None,
        },
        Trunk::Silent => {
            let listener = TcpListener::bind(&addr).unwrap();
            let heard = Arc::new(Mutex::new(Vec::new()));
            let sink = Arc::clone(&heard);
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    let Ok(mut conn) = conn else { return };
                    let sink = Arc::clone(&sink);
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        while let Ok(n) = conn.read(&mut buf) {
                            if n == 0 {
                                return;
                            }
                            sink.lock().unwrap().extend_from_slice(&buf[..n]);
                        }
                    });
                }
            });
            Running {
                addr,
                sipp: None,
                heard: Some(heard),
            }
        }
    }
}

/// The PIDF-LO document in a message.
pub fn pidf(message: &str) -> String {
    let start = message.find("<?xml").expect("a PIDF-LO");
    let end = message.find("</presence>").expect("a whole PIDF-LO");
    message[start..end].to_owned()
}
