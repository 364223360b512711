//! The proxy-wasm serialization of header pairs (`proxy_http_call`'s headers): a
//! little-endian `u32` count, then a `u32` key size and value size per pair, then each
//! key and value followed by a NUL.

/// The pairs, or `None` when the sizes do not fit the bytes.
pub fn decode(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let u32_at = |at: usize| -> Option<usize> {
        let raw: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
        usize::try_from(u32::from_le_bytes(raw)).ok()
    };
    let count = u32_at(0)?;
    let mut text = count.checked_mul(8)?.checked_add(4)?;
    let mut pairs = Vec::with_capacity(count.min(256));
    for n in 0..count {
        let key_size = u32_at(4 + n * 8)?;
        let value_size = u32_at(8 + n * 8)?;
        let key = bytes.get(text..text.checked_add(key_size)?)?;
        text = text.checked_add(key_size)?.checked_add(1)?;
        let value = bytes.get(text..text.checked_add(value_size)?)?;
        text = text.checked_add(value_size)?.checked_add(1)?;
        pairs.push((
            String::from_utf8_lossy(key).into_owned(),
            String::from_utf8_lossy(value).into_owned(),
        ));
    }
    Some(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_pairs_and_refuses_sizes_past_the_end() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&2u32.to_le_bytes());
        for size in [7u32, 4, 5, 1] {
            bytes.extend_from_slice(&size.to_le_bytes());
        }
        bytes.extend_from_slice(b":method\0POST\0:path\0/\0");
        let pairs = decode(&bytes).unwrap();
        assert_eq!(
            pairs,
            vec![
                (":method".to_owned(), "POST".to_owned()),
                (":path".to_owned(), "/".to_owned())
            ]
        );
        assert_eq!(decode(&bytes[..bytes.len() - 3]), None);
        assert_eq!(decode(b""), Some(Vec::new()));
    }
}
