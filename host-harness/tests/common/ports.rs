//! Ports and scratch folders for tests that start servers.

use std::net::{TcpListener, UdpSocket};
use std::path::PathBuf;

/// A port free for both UDP and TCP on `ip` (SIPp opens both).
pub fn free_port(ip: &str) -> u16 {
    loop {
        let tcp = TcpListener::bind((ip, 0)).unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind((ip, port)).is_ok() {
            return port;
        }
    }
}

/// A fresh scratch folder for one test, `e911-<test binary>-<name>-<pid>` under the
/// system temp dir; kept after the test so its logs can be read.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "e911-{}-{name}-{}",
        env!("CARGO_CRATE_NAME"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
