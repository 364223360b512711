//! Exact-match tables keyed by text (LLDP chassis, chassis + port, caller identities).
//!
//! Every key's text sits in one contiguous buffer, in the order of a 64-bit hash of the
//! key; a sorted array of (hash, offset, value) slots and a radix index on the hashes'
//! top bits ([`Buckets`]) find the one or two slots a key can be in. A lookup is two or
//! three cache misses and one byte comparison, with no per-key allocation and no pointer
//! chasing. Everything here is derived at build (and load) time: bundles carry the keys
//! and values sorted by key, as [`KeyedTable::entries`] lists them.

use super::index::Buckets;

/// About `2^SPREAD` keys a bucket of the radix index: four 16-byte slots, a cache line.
const SPREAD: u32 = 2;

/// One key: its hash, where its text starts in the buffer, and its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    hash: u64,
    start: u32,
    value: u32,
}

/// Text keys to values, compiled once at build time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyedTable {
    /// Sorted by hash, then key.
    slots: Vec<Slot>,
    /// The keys' text, in slot order; a key ends where the next slot's starts.
    text: String,
    /// Derived from the slots' hashes.
    index: Buckets,
}

impl KeyedTable {
    /// Builds the table; of two equal keys the later one wins. Keys past the first 4 GiB
    /// of text are dropped (no bundle comes near that).
    pub fn build(entries: Vec<(Box<str>, u32)>) -> Self {
        // Sort (hash, position) pairs, not the entries: keys are compared only on the rare
        // equal hashes, and the position breaks ties so the later of equal keys sorts last.
        let mut order: Vec<(u64, usize)> = entries
            .iter()
            .enumerate()
            .map(|(at, (key, _))| (hash(key.as_bytes()), at))
            .collect();
        let key_at = |at: usize| entries.get(at).map(|(key, _)| key.as_ref());
        order.sort_unstable_by(|a, b| {
            a.0.cmp(&b.0)
                .then_with(|| key_at(a.1).cmp(&key_at(b.1)))
                .then(a.1.cmp(&b.1))
        });
        let mut slots: Vec<Slot> = Vec::with_capacity(order.len());
        let mut text = String::with_capacity(entries.iter().map(|e| e.0.len()).sum());
        let mut last: Option<&str> = None;
        for &(hash, at) in &order {
            let Some((key, value)) = entries.get(at) else {
                continue;
            };
            if last == Some(key.as_ref()) {
                if let Some(slot) = slots.last_mut() {
                    slot.value = *value;
                }
                continue;
            }
            let Ok(start) = u32::try_from(text.len()) else {
                break;
            };
            if u32::try_from(text.len() + key.len()).is_err() {
                break;
            }
            text.push_str(key);
            slots.push(Slot {
                hash,
                start,
                value: *value,
            });
            last = Some(key);
        }
        slots.shrink_to_fit();
        let index = Buckets::build(slots.iter().map(|slot| u128::from(slot.hash)), SPREAD);
        Self { slots, text, index }
    }

    /// The value stored under `key`.
    pub fn lookup(&self, key: &str) -> Option<u32> {
        self.lookup_bytes(key.as_bytes())
    }

    /// The value stored under the key whose UTF-8 text is `key`.
    #[inline]
    pub fn lookup_bytes(&self, key: &[u8]) -> Option<u32> {
        let hash = hash(key);
        let (lo, hi) = self.index.window(u128::from(hash), self.slots.len());
        let bucket = self.slots.get(lo..hi)?;
        let from = lo + bucket.partition_point(|slot| slot.hash < hash);
        let same_hash = self
            .slots
            .get(from..)?
            .iter()
            .take_while(|s| s.hash == hash);
        for (at, slot) in (from..).zip(same_hash) {
            if self.key_bytes(at, slot) == Some(key) {
                return Some(slot.value);
            }
        }
        None
    }

    /// The text of the key in `slot`, which is `self.slots[at]`.
    fn key_bytes(&self, at: usize, slot: &Slot) -> Option<&[u8]> {
        let end = self
            .slots
            .get(at + 1)
            .map_or(self.text.len(), |next| next.start as usize);
        self.text.as_bytes().get(slot.start as usize..end)
    }

    /// Every key and value, in key order (what a bundle stores).
    pub fn entries(&self) -> Vec<(&str, u32)> {
        let mut entries: Vec<(&str, u32)> = self
            .slots
            .iter()
            .enumerate()
            .map(|(at, slot)| {
                let end = self
                    .slots
                    .get(at + 1)
                    .map_or(self.text.len(), |next| next.start as usize);
                (
                    self.text.get(slot.start as usize..end).unwrap_or_default(),
                    slot.value,
                )
            })
            .collect();
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        entries
    }

    /// How many keys the table holds.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes the compiled table occupies on the heap, index included.
    pub fn heap_bytes(&self) -> usize {
        self.slots.capacity() * core::mem::size_of::<Slot>()
            + self.text.capacity()
            + self.index.heap_bytes()
    }
}

/// A fast 64-bit hash of a short byte string, eight bytes at a time. Not keyed: the keys
/// come from the operator's own bundle, and a lookup key that collides costs one compare.
#[inline]
fn hash(bytes: &[u8]) -> u64 {
    const MUL: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h = (bytes.len() as u64).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let word = chunk.try_into().map_or(0, u64::from_le_bytes);
        h = (h ^ word).wrapping_mul(MUL).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    for (dst, src) in tail.iter_mut().zip(chunks.remainder()) {
        *dst = *src;
    }
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(MUL);
    // Final mix so the top bits (what the index buckets on) depend on every input bit.
    h ^= h >> 32;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 29)
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
        assert_eq!(table.lookup(""), None);
        assert_eq!(table.len(), 2);
        assert_eq!(table.entries(), vec![("a", 2), ("b", 3)]);
        assert_eq!(KeyedTable::default().lookup("a"), None);
    }

    #[test]
    fn matches_a_sorted_map_on_many_keys() {
        use std::collections::BTreeMap;
        let mut entries: Vec<(Box<str>, u32)> = Vec::new();
        let mut expected = BTreeMap::new();
        for i in 0..5000u32 {
            // Lengths from 0 to ~30 bytes, with duplicates (the later wins) and prefixes of
            // one another.
            let key = format!(
                "sw-{}\u{1f}gi1/0/{}",
                i % 1700,
                "x".repeat((i % 9) as usize)
            );
            let key = key.get(..(i % 31) as usize).unwrap_or(&key).to_owned();
            expected.insert(key.clone(), i);
            entries.push((key.into(), i));
        }
        let table = KeyedTable::build(entries);
        assert_eq!(table.len(), expected.len());
        for (key, value) in &expected {
            assert_eq!(table.lookup(key), Some(*value), "{key:?}");
            assert_eq!(table.lookup(&format!("{key}!")), None);
        }
        let listed: Vec<(&str, u32)> = expected.iter().map(|(k, v)| (k.as_str(), *v)).collect();
        assert_eq!(table.entries(), listed);
        let again = KeyedTable::build(
            table
                .entries()
                .into_iter()
                .map(|(k, v)| (k.into(), v))
                .collect(),
        );
        assert_eq!(again, table);
    }

    #[test]
    fn equal_hashes_fall_back_to_comparing_text() {
        // Force every key into one hash run by building slots by hand.
        let mut table = KeyedTable::build(vec![("a".into(), 1), ("bb".into(), 2), ("c".into(), 3)]);
        for slot in &mut table.slots {
            slot.hash = hash(b"bb");
        }
        table.index = Buckets::build(table.slots.iter().map(|s| u128::from(s.hash)), SPREAD);
        assert_eq!(table.lookup("bb"), Some(2));
        assert_eq!(table.lookup("a"), None); // its hash no longer matches its slot
    }
}
