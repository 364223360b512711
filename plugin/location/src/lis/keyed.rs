//! Exact-match tables keyed by text (LLDP chassis, chassis + port): a sorted array and a
//! binary search, so a million keys cost one allocation each and no hashing state.

/// Text keys to values, sorted once at build time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyedTable {
    entries: Vec<(Box<str>, u32)>,
}

impl KeyedTable {
    /// Builds the table; of two equal keys the later one wins.
    pub fn build(mut entries: Vec<(Box<str>, u32)>) -> Self {
        // Stable sort keeps input order among equal keys, so keeping the last of each run
        // keeps the later entry.
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        let mut kept: Vec<(Box<str>, u32)> = Vec::with_capacity(entries.len());
        for entry in entries {
            if kept.last().is_some_and(|last| last.0 == entry.0) {
                kept.pop();
            }
            kept.push(entry);
        }
        Self { entries: kept }
    }

    /// The value stored under `key`.
    pub fn lookup(&self, key: &str) -> Option<u32> {
        let at = self
            .entries
            .binary_search_by(|(k, _)| k.as_ref().cmp(key))
            .ok()?;
        self.entries.get(at).map(|(_, value)| *value)
    }

    /// Every key and value, in key order.
    pub fn entries(&self) -> &[(Box<str>, u32)] {
        &self.entries
    }

    /// How many keys the table holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_keys_and_keeps_the_later_duplicate() {
        let table = KeyedTable::build(vec![("b".into(), 1), ("a".into(), 2), ("b".into(), 3)]);
        assert_eq!(table.lookup("a"), Some(2));
        assert_eq!(table.lookup("b"), Some(3));
        assert_eq!(table.lookup("c"), None);
        assert_eq!(table.len(), 2);
    }
}
