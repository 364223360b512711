//! A radix index over a sorted array of keys: a direct table on the keys' top bits that
//! says where in the array each stretch of the key space starts.
//!
//! A plain binary search over a million keys is about twenty dependent loads, most of them
//! cache misses. With the index a lookup reads two neighbouring `u32`s, then searches the
//! handful of keys between them: two or three misses, whatever the table size. The index
//! is derived from the sorted keys (it is never serialized) and costs about four bytes per
//! key. Keys are measured from the smallest one, and the bucket width is chosen so the
//! buckets span exactly the keys present: evenly spread keys (consecutive subnets, a run
//! of BSSIDs, hashes) land one or two to a bucket. Clustered keys only make some buckets
//! fuller, and a lookup then binary-searches its bucket, never the whole array.

/// Where each bucket of keys starts in the sorted array; see the module comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Buckets {
    /// A key's bucket is its offset from the smallest key shifted right by this much.
    shift: u32,
    /// `bounds[b]` is how many keys lie in buckets before `b`; one entry more than there
    /// are buckets, the last being the number of keys. Empty when there are no keys (or
    /// more than `u32` can count), and then a lookup searches the whole array.
    bounds: Vec<u32>,
}

impl Buckets {
    /// Indexes sorted `offsets` (each key's distance from the smallest key), aiming at
    /// `2^spread` keys a bucket when they are spread evenly.
    pub(crate) fn build(offsets: impl ExactSizeIterator<Item = u128> + Clone, spread: u32) -> Self {
        let count = offsets.len();
        let Some(max) = offsets.clone().last() else {
            return Self::default();
        };
        if u32::try_from(count).is_err() {
            return Self::default();
        }
        // A power of two near `count >> spread` buckets: a small index that stays in cache,
        // and buckets of a cache line or two of keys when they are spread evenly.
        let want_bits = (usize::BITS - 1 - count.leading_zeros()).saturating_sub(spread);
        let span_bits = u128::BITS - max.leading_zeros();
        let shift = span_bits.saturating_sub(want_bits);
        let mut bounds: Vec<u32> = Vec::with_capacity((1usize << want_bits) + 1);
        for (at, offset) in offsets.enumerate() {
            let bucket = offset.checked_shr(shift).unwrap_or(0);
            let bucket = usize::try_from(bucket).unwrap_or(usize::MAX);
            // `at < count`, which fits in u32 (checked above).
            let at = u32::try_from(at).unwrap_or(u32::MAX);
            while bounds.len() <= bucket {
                bounds.push(at);
            }
        }
        // The largest key's bucket is the last one; close it with the key count.
        bounds.push(u32::try_from(count).unwrap_or(u32::MAX));
        bounds.shrink_to_fit();
        Self { shift, bounds }
    }

    /// The stretch `lo..hi` of the sorted array holding every key in `offset`'s bucket:
    /// keys before `lo` are smaller than `offset`, keys from `hi` on are larger. Offsets
    /// past the last bucket get the last bucket, whose `hi` is the end of the array.
    #[inline]
    pub(crate) fn window(&self, offset: u128, len: usize) -> (usize, usize) {
        let buckets = self.bounds.len().saturating_sub(1);
        if buckets == 0 {
            return (0, len);
        }
        let bucket = offset.checked_shr(self.shift).unwrap_or(0);
        let bucket = usize::try_from(bucket)
            .unwrap_or(usize::MAX)
            .min(buckets - 1);
        match (self.bounds.get(bucket), self.bounds.get(bucket + 1)) {
            (Some(&lo), Some(&hi)) => (lo as usize, hi as usize),
            _ => (0, len),
        }
    }

    /// Bytes the index occupies.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.bounds.capacity() * core::mem::size_of::<u32>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(keys: &[u128]) {
        let index = Buckets::build(keys.iter().copied(), 0);
        let coarse = Buckets::build(keys.iter().copied(), 3);
        let mut probes: Vec<u128> = keys.to_vec();
        probes.extend(keys.iter().map(|k| k.saturating_add(1)));
        probes.extend(keys.iter().map(|k| k.saturating_sub(1)));
        probes.extend([0, 1, u128::MAX, u128::MAX - 1, u128::from(u64::MAX)]);
        for (probe, index) in probes.iter().flat_map(|&p| [(p, &index), (p, &coarse)]) {
            let (lo, hi) = index.window(probe, keys.len());
            assert!(lo <= hi && hi <= keys.len(), "{probe:#x}: {lo}..{hi}");
            assert!(keys[..lo].iter().all(|k| *k < probe), "{probe:#x}: lo {lo}");
            assert!(keys[hi..].iter().all(|k| *k > probe), "{probe:#x}: hi {hi}");
        }
    }

    #[test]
    fn windows_bracket_every_probe() {
        check(&[]);
        check(&[0]);
        check(&[0, 0, 0]);
        check(&[0, 1, 2, 3, 4, 5, 6, 7, 8]);
        check(&[0, 5, 1 << 40, (1 << 40) + 1, u128::MAX - 1, u128::MAX]);
        check(&[0, u128::from(u32::MAX)]);
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut clustered: Vec<u128> = (0..3000)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Three tight clusters far apart, like BSSIDs from three vendors' OUIs.
                (u128::from(i % 3u32) << 90) | u128::from(seed % 5000)
            })
            .collect();
        clustered.sort_unstable();
        check(&clustered);
    }
}
