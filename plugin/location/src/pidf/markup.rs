//! An address's `ca:civicAddress` element as the writer last wrote it, kept with the
//! address so that the next document copies it instead of writing it again.
//!
//! A stored ERL's address is the same on every emergency call from it, and its RFC 5139
//! element (every value collapsed as an `xs:token` and escaped, the country upper-cased)
//! is about half of a PIDF-LO's writing. The element is written once, when the first
//! document needs it, so memory goes only to addresses that have called.

use std::fmt;
use std::sync::OnceLock;

/// The written `ca:civicAddress` element of one address, empty until a document is
/// written with it ([`crate::LocationRef::civic_markup`]).
///
/// It follows from the address alone, so it is not part of a value that holds it: two
/// holders compare equal whatever their markup, a clone starts empty, and nothing
/// serializes it. Whoever holds one next to an address must not change that address
/// afterwards (a policy's ERLs never change once it is assembled).
#[derive(Default)]
pub struct CivicMarkup(OnceLock<Box<Written>>);

/// The element and the nesting depth it was written at: its lines are indented for that
/// depth, which depends on the document's placement (`tuple` or `dm:device`).
pub(crate) struct Written {
    pub(crate) depth: usize,
    pub(crate) text: Box<str>,
}

impl CivicMarkup {
    /// The element, if it was written at `depth`.
    pub(crate) fn at_depth(&self, depth: usize) -> Option<&str> {
        self.0
            .get()
            .filter(|written| written.depth == depth)
            .map(|written| &*written.text)
    }

    /// Keeps `text`, written at `depth`, unless an element is kept already.
    pub(crate) fn keep(&self, depth: usize, text: &str) {
        // Another thread may have kept the same element first; either copy serves.
        let _ = self.0.set(Box::new(Written {
            depth,
            text: text.into(),
        }));
    }

    /// Whether an element is kept.
    pub fn is_written(&self) -> bool {
        self.0.get().is_some()
    }
}

impl Clone for CivicMarkup {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for CivicMarkup {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for CivicMarkup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.is_written() {
            "CivicMarkup(written)"
        } else {
            "CivicMarkup(empty)"
        })
    }
}
