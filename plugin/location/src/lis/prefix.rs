//! Longest-prefix match by one short binary search.
//!
//! Subnets (IPv4, IPv6) and wildcard BSSIDs are prefixes of an ordered key space. Two
//! prefixes are either disjoint or one contains the other, so a set of them flattens into
//! a sorted list of breakpoints: from each breakpoint up to the next, one answer holds (the
//! most specific prefix covering that stretch, or none). Building sorts once; a lookup is
//! a `partition_point` over a flat array — no scan, no pointer chasing, and the arrays
//! serialize as they are. A radix index on the breakpoints' top bits ([`Buckets`], rebuilt
//! on load) narrows that search to a few neighbouring breakpoints, so a lookup in a
//! million-prefix table is a handful of cache misses rather than twenty.

use super::index::Buckets;

/// A key space a prefix table can index: IPv4 (`u32`), MAC/BSSID (`u64`), IPv6 (`u128`).
pub trait PrefixKey: Copy + Ord + Into<u128> {
    /// The next key, or `None` at the top of the space.
    fn successor(self) -> Option<Self>;

    /// The inclusive range of the CIDR block with `len` leading bits of `self` fixed;
    /// `None` when `len` exceeds the key's width.
    fn prefix_range(self, len: u32) -> Option<(Self, Self)>;
}

macro_rules! prefix_key {
    ($($t:ty),*) => {$(
        impl PrefixKey for $t {
            fn successor(self) -> Option<Self> {
                self.checked_add(1)
            }

            fn prefix_range(self, len: u32) -> Option<(Self, Self)> {
                // `checked_shr` refuses a shift by the full width: that is a /len host part
                // of zero bits, i.e. a single address.
                let host = match <$t>::MAX.checked_shr(len) {
                    Some(host) if len > 0 => host,
                    Some(_) => <$t>::MAX,
                    None if len == <$t>::BITS => 0,
                    None => return None,
                };
                Some((self & !host, self | host))
            }
        }
    )*};
}
prefix_key!(u32, u64, u128);

/// About `2^SPREAD` breakpoints a bucket of the radix index.
const SPREAD: u32 = 3;

/// Marks a stretch of the key space that no prefix covers.
const UNCOVERED: u32 = u32::MAX;

/// One prefix to index: the inclusive key range it covers and its value (an ERL index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrefixEntry<K> {
    /// First key covered.
    pub first: K,
    /// Last key covered (inclusive).
    pub last: K,
    /// What a lookup inside this range answers, unless a more specific prefix covers it.
    pub value: u32,
}

/// Prefixes compiled into breakpoints; see the module comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefixTable<K> {
    /// Breakpoints and the value from each on, key and value side by side so a lookup
    /// reads one cache line for both.
    points: Vec<(K, u32)>,
    /// Derived from the keys: where each stretch of the key space begins in `points`.
    index: Buckets,
}

impl<K: PrefixKey> PrefixTable<K> {
    /// Compiles a set of prefixes. Entries must nest or be disjoint (true of CIDR blocks and
    /// of hex-digit prefixes); of two entries with the same range, the later one wins. The
    /// value `u32::MAX` is reserved and ignored.
    pub fn build(mut entries: Vec<PrefixEntry<K>>) -> Self {
        entries.retain(|e| e.value != UNCOVERED && e.first <= e.last);
        // Outer ranges before the ranges they contain; stable, so equal ranges keep input order.
        entries.sort_by(|a, b| a.first.cmp(&b.first).then(b.last.cmp(&a.last)));

        let mut points: Vec<(K, u32)> = Vec::with_capacity(entries.len() * 2);
        let mut open: Vec<(K, u32)> = Vec::new(); // (last, value) of ranges containing the cursor
        for entry in &entries {
            close_ranges_before(&mut open, &mut points, Some(entry.first));
            points.push((entry.first, entry.value));
            open.push((entry.last, entry.value));
        }
        close_ranges_before(&mut open, &mut points, None);
        Self::from_points(points)
    }

    /// Keeps the last breakpoint of equal keys and drops breakpoints that change nothing.
    fn from_points(points: Vec<(K, u32)>) -> Self {
        let mut kept: Vec<(K, u32)> = Vec::with_capacity(points.len());
        for (key, value) in points {
            if kept.last().is_some_and(|&(last, _)| last == key) {
                kept.pop();
            }
            let before = kept.last().map_or(UNCOVERED, |&(_, value)| value);
            if before != value {
                kept.push((key, value));
            }
        }
        kept.shrink_to_fit();
        Self::indexed(kept)
    }

    /// Adds the radix index to sorted breakpoints.
    fn indexed(points: Vec<(K, u32)>) -> Self {
        let base = points.first().map_or(0, |&(first, _)| first.into());
        let offsets = points.iter().map(|&(start, _)| start.into() - base);
        let index = Buckets::build(offsets, SPREAD);
        Self { points, index }
    }

    /// The value of the most specific prefix containing `key`.
    #[inline]
    pub fn lookup(&self, key: K) -> Option<u32> {
        // Below the first breakpoint nothing is covered.
        let first = self.points.first()?.0.into();
        let offset = key.into().checked_sub(first)?;
        let (lo, hi) = self.index.window(offset, self.points.len());
        let bucket = self.points.get(lo..hi)?;
        let after = lo + bucket.partition_point(|&(start, _)| start <= key);
        let (_, value) = *self.points.get(after.checked_sub(1)?)?;
        (value != UNCOVERED).then_some(value)
    }

    /// Bytes the compiled table occupies on the heap, index included.
    pub fn heap_bytes(&self) -> usize {
        self.points.capacity() * core::mem::size_of::<(K, u32)>() + self.index.heap_bytes()
    }

    /// How many breakpoints the table holds (about two per prefix at most).
    pub fn breakpoints(&self) -> usize {
        self.points.len()
    }

    /// The compiled form, for serialization: breakpoints and their values.
    pub fn parts(&self) -> (Vec<K>, Vec<u32>) {
        self.points.iter().copied().unzip()
    }

    /// Rebuilds a table from [`PrefixTable::parts`]; `None` if they are not a valid table
    /// (lengths differ or keys are not strictly increasing).
    pub fn from_parts(starts: Vec<K>, values: Vec<u32>) -> Option<Self> {
        let ordered = starts.windows(2).all(|w| matches!(w, [a, b] if a < b));
        (starts.len() == values.len() && ordered)
            .then(|| Self::indexed(starts.into_iter().zip(values).collect()))
    }
}

/// Ends every open range that finishes before `bound` (all of them when `bound` is `None`),
/// resuming the enclosing range's value right after each.
fn close_ranges_before<K: PrefixKey>(
    open: &mut Vec<(K, u32)>,
    points: &mut Vec<(K, u32)>,
    bound: Option<K>,
) {
    while let Some(&(last, _)) = open.last() {
        if bound.is_some_and(|b| last >= b) {
            break;
        }
        open.pop();
        let resume = open.last().map_or(UNCOVERED, |&(_, value)| value);
        if let Some(next) = last.successor() {
            points.push((next, resume));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(a: u8, b: u8, c: u8, d: u8) -> u32 {
        u32::from_be_bytes([a, b, c, d])
    }

    fn entry(addr: u32, len: u32, value: u32) -> PrefixEntry<u32> {
        let (first, last) = addr.prefix_range(len).unwrap();
        PrefixEntry { first, last, value }
    }

    #[test]
    fn longest_prefix_wins_and_outer_resumes_after_inner() {
        let table = PrefixTable::build(vec![
            entry(v4(10, 1, 2, 0), 24, 2),
            entry(v4(10, 1, 0, 0), 16, 1),
            entry(v4(10, 0, 0, 0), 8, 0),
        ]);
        assert_eq!(table.lookup(v4(10, 1, 2, 9)), Some(2));
        assert_eq!(table.lookup(v4(10, 1, 3, 0)), Some(1));
        assert_eq!(table.lookup(v4(10, 1, 1, 255)), Some(1));
        assert_eq!(table.lookup(v4(10, 9, 9, 9)), Some(0));
        assert_eq!(table.lookup(v4(11, 0, 0, 0)), None);
        assert_eq!(table.lookup(v4(9, 255, 255, 255)), None);
    }

    #[test]
    fn prefixes_touching_the_top_of_the_space_do_not_overflow() {
        let table = PrefixTable::build(vec![entry(0, 0, 7), entry(v4(255, 255, 255, 255), 32, 8)]);
        assert_eq!(table.lookup(u32::MAX), Some(8));
        assert_eq!(table.lookup(u32::MAX - 1), Some(7));
        assert_eq!(table.lookup(0), Some(7));
    }

    #[test]
    fn equal_ranges_keep_the_later_entry() {
        let table = PrefixTable::build(vec![
            entry(v4(10, 2, 0, 0), 16, 1),
            entry(v4(10, 2, 0, 0), 16, 2),
        ]);
        assert_eq!(table.lookup(v4(10, 2, 3, 4)), Some(2));
    }

    #[test]
    fn matches_a_linear_scan_on_generated_prefixes() {
        // Deterministic pseudo-random nested and disjoint prefixes, checked against the
        // obvious quadratic answer.
        let mut seed = 0x2545_f491_u32;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let entries: Vec<PrefixEntry<u32>> = (0..400)
            .map(|i| entry(next() & 0x0fff_ffff, 8 + next() % 25, i))
            .collect();
        let table = PrefixTable::build(entries.clone());
        for _ in 0..5000 {
            let key = next() & 0x0fff_ffff;
            let expected = entries
                .iter()
                .filter(|e| e.first <= key && key <= e.last)
                .max_by_key(|e| (e.first, core::cmp::Reverse(e.last), e.value))
                .map(|e| e.value);
            assert_eq!(table.lookup(key), expected, "key {key:#x}");
        }
    }

    /// The obvious quadratic answer: the most specific (then latest) entry covering `key`.
    fn scan<K: PrefixKey>(entries: &[PrefixEntry<K>], key: K) -> Option<u32> {
        entries
            .iter()
            .enumerate()
            .filter(|(_, e)| e.first <= key && key <= e.last)
            .max_by_key(|(i, e)| (e.first, core::cmp::Reverse(e.last), *i))
            .map(|(_, e)| e.value)
    }

    /// Checks `table` (built from `entries`) against [`scan`] at every range edge and its
    /// neighbours, plus `extra` keys.
    fn check_against_scan<K: PrefixKey + core::fmt::Debug>(
        entries: &[PrefixEntry<K>],
        extra: impl IntoIterator<Item = K>,
    ) {
        let table = PrefixTable::build(entries.to_vec());
        let (starts, values) = table.parts();
        let reloaded = PrefixTable::from_parts(starts, values).unwrap();
        let mut keys: Vec<K> = extra.into_iter().collect();
        for e in entries {
            keys.extend([e.first, e.last]);
            keys.extend(e.last.successor());
            let below = entries
                .iter()
                .map(|o| o.first)
                .filter(|f| *f < e.first)
                .max();
            keys.extend(below);
        }
        for key in keys {
            let expected = scan(entries, key);
            assert_eq!(table.lookup(key), expected, "key {key:?}");
            assert_eq!(reloaded.lookup(key), expected, "reloaded, key {key:?}");
        }
    }

    #[test]
    fn indexed_lookups_match_a_linear_scan_on_clustered_bssids() {
        // Exact BSSIDs and wildcards (1 to 11 hex digits) clustered in three OUIs, as a
        // real site's access points are, plus a catch-all wildcard and the top address.
        let mut seed = 0x0bad_5eed_1234_5678_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let ouis = [0x00_1122_u64, 0x00_1123, 0xfc_ffff];
        let mut entries = Vec::new();
        for i in 0..1500u32 {
            let oui = ouis[(next() % 3) as usize];
            let mac = (oui << 24) | (next() & 0xff_ffff);
            let digits = if i % 4 == 0 { 1 + next() % 11 } else { 12 };
            let free = 4 * (12 - digits);
            let first = mac >> free << free;
            let last = first | ((1u64 << free) - 1);
            entries.push(PrefixEntry {
                first,
                last,
                value: i,
            });
        }
        entries.push(PrefixEntry {
            first: 0,
            last: 0xffff_ffff_ffff,
            value: 9000,
        });
        entries.push(PrefixEntry {
            first: 0xffff_ffff_ffff,
            last: 0xffff_ffff_ffff,
            value: 9001,
        });
        let probes: Vec<u64> = (0..3000).map(|_| next() & 0xffff_ffff_ffff).collect();
        check_against_scan(&entries, probes.iter().copied().chain([0, u64::MAX]));
        // Without the catch-all, stretches between clusters are uncovered.
        check_against_scan(&entries[..1500], probes);
    }

    #[test]
    fn indexed_lookups_match_a_linear_scan_at_the_edges_of_the_space() {
        let top: Vec<PrefixEntry<u32>> = [
            entry(u32::MAX, 32, 1),
            entry(0xffff_ff00, 24, 2),
            entry(0xf000_0000, 4, 3),
            entry(0, 32, 4),
            entry(0, 8, 5),
        ]
        .into();
        check_against_scan(&top, [u32::MAX - 1, 1, 0x8000_0000]);
        check_against_scan(&top[..3], [0, 0xefff_ffff]);
        check_against_scan(&[entry(0, 0, 6)], [0, u32::MAX]);
        check_against_scan::<u32>(&[], [0, 7, u32::MAX]);
        let (first, last) = u128::MAX.prefix_range(64).unwrap();
        let v6 = [
            PrefixEntry {
                first,
                last,
                value: 1,
            },
            PrefixEntry {
                first: u128::MAX,
                last: u128::MAX,
                value: 2,
            },
            PrefixEntry {
                first: 1 << 120,
                last: (2 << 120) - 1,
                value: 3,
            },
        ];
        check_against_scan(&v6, [0, u128::MAX - 1, first - 1]);
    }

    #[test]
    fn indexed_lookups_match_a_linear_scan_on_many_nested_subnets() {
        // Dense runs of /28s (like the benchmark's) inside /16s and /20s, and stray /8s.
        let mut entries = Vec::new();
        for i in 0..4000u32 {
            entries.push(entry(0x0a00_0000 + i * 16 * (1 + i % 3), 28, i));
        }
        for i in 0..40u32 {
            entries.push(entry(0x0a00_0000 + (i << 16), 16, 10_000 + i));
            entries.push(entry(0x0a00_0000 + (i << 16) + (5 << 12), 20, 20_000 + i));
            entries.push(entry(i << 26, 8, 30_000 + i));
        }
        let probes: Vec<u32> = (0..20_000u32)
            .map(|i| i.wrapping_mul(0x9e37_79b9))
            .collect();
        check_against_scan(&entries, probes);
    }

    #[test]
    fn parts_round_trip_and_reject_disorder() {
        let table = PrefixTable::build(vec![entry(v4(10, 0, 0, 0), 8, 3)]);
        let (starts, values) = table.parts();
        let again = PrefixTable::from_parts(starts, values).unwrap();
        assert_eq!(again, table);
        assert!(PrefixTable::<u32>::from_parts(vec![5, 5], vec![1, 2]).is_none());
        assert!(PrefixTable::<u32>::from_parts(vec![5], vec![]).is_none());
    }

    #[test]
    fn ipv6_prefixes_work_on_u128() {
        let net = u128::from_be_bytes([0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let (first, last) = net.prefix_range(48).unwrap();
        let table = PrefixTable::build(vec![PrefixEntry {
            first,
            last,
            value: 4,
        }]);
        assert_eq!(table.lookup(net + 0xffff), Some(4));
        assert_eq!(table.lookup(last + 1), None);
        assert!(net.prefix_range(129).is_none());
        assert_eq!(net.prefix_range(128), Some((net, net)));
    }
}
