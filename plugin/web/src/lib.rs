//! # e911-web: the engine in the browser
//!
//! Brief overview: [`Playground`] is what the policy playground page (`plugin/web/www/`)
//! talks to through wasm-bindgen's JS glue. It holds a bundle's source files, compiles
//! them ([`session::Session::compile`]: every problem with file and line, and the last
//! good policy stays in force when a compile fails), decides one message given the peer,
//! transport and time ([`session::Session::decide`], `Engine::on_message` with an
//! in-memory callback store, so an ELIN handed out stays callable back within the page),
//! and lists coverage ([`coverage`]). Each answer crosses to JavaScript as one JSON
//! string, so the page and this crate share no types beyond their field names.
//!
//! Everything runs in the page: nothing here does I/O or reads a clock; the page passes
//! the time in.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod coverage;
pub mod diff;
pub mod network_facts;
pub mod pidf;
pub mod session;

use wasm_bindgen::prelude::wasm_bindgen;

use session::{DecideInput, Session};

/// The playground's state in the page: the sources being edited, the policy in force and
/// the ELIN callback store.
#[wasm_bindgen]
#[derive(Default)]
pub struct Playground {
    session: Session,
}

#[wasm_bindgen]
impl Playground {
    /// An empty playground: no files, no policy.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets the source files (not the policy in force).
    pub fn clear_files(&mut self) {
        self.session.clear_files();
    }

    /// Adds one source file (`bundle.toml`, `erls.csv`, …) as bytes.
    pub fn add_file(&mut self, name: &str, bytes: &[u8]) {
        self.session.add_file(name, bytes);
    }

    /// Validates and compiles the files; JSON: `ok`, `problems` (file, line, column,
    /// message, text), `revision` in force, `counts`, `headers`.
    pub fn compile(&mut self) -> String {
        to_json(&self.session.compile())
    }

    /// Decides one message. `facts_json` holds `peer`, `transport` (`udp`, `tcp`,
    /// `tls`), `now` (RFC 3339), `node`, and optional `bssid`, `chassis`, `port` that a
    /// trusted edge would have added as headers. JSON: the report (as `e911-harness run
    /// --json` prints it), the received and forwarded messages, the line diff, the
    /// PIDF-LO, or `error` for input that could not be used.
    pub fn decide(&mut self, message: &[u8], facts_json: &str) -> String {
        match serde_json::from_str::<DecideInput>(facts_json) {
            Ok(input) => to_json(&self.session.decide(message, &input)),
            Err(err) => to_json(&session::Failure::new(format!("facts: {err}"))),
        }
    }

    /// Every ERL with the elements that reach it, and what nothing reaches; JSON.
    pub fn coverage(&self) -> String {
        to_json(&self.session.coverage())
    }

    /// Forgets every ELIN handed out (the callback store).
    pub fn forget_callbacks(&mut self) {
        self.session.forget_callbacks();
    }
}

/// Serializes an answer; serde_json cannot fail on these plain structs, but if it did the
/// page gets an `error` object rather than a trap.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|err| format!("{{\"error\":\"cannot serialize the answer: {err}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_json_even_for_facts_it_cannot_read() {
        let mut page = Playground::new();
        let answer: serde_json::Value =
            serde_json::from_str(&page.decide(b"OPTIONS sip:a SIP/2.0\r\n\r\n", "{")).unwrap();
        assert!(
            answer["error"].as_str().unwrap().starts_with("facts: "),
            "{answer}"
        );
        let compiled: serde_json::Value = serde_json::from_str(&page.compile()).unwrap();
        assert_eq!(compiled["ok"], false);
        assert_eq!(compiled["problems"][0]["file"], "bundle.toml");
        assert_eq!(page.coverage(), "null");
    }
}
