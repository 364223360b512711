//! Single-token headers: `Call-ID` (RFC 3261 §20.8) and `Max-Forwards` (§20.22).

use crate::error::HeaderErrorKind;
use crate::lex::{decimal_u32, is_lws};

use super::list::Fail;

/// Parses a trimmed Call-ID: `word [ "@" word ]`, so no white space inside. Compared
/// byte for byte (RFC 3261 §20.8: case-sensitive).
pub(crate) fn parse_call_id(s: &[u8]) -> Result<&[u8], Fail> {
    match s.iter().position(|&b| is_lws(b)) {
        Some(at) => Err((HeaderErrorKind::Syntax, at)),
        None => Ok(s),
    }
}

/// Parses a trimmed Max-Forwards. RFC 3261 §20.22: "an integer in the range 0-255"
/// (RFC 4475 §3.1.2.4 `scalar02.dat` carries 300).
pub(crate) fn parse_max_forwards(s: &[u8]) -> Result<u8, Fail> {
    decimal_u32(s)
        .and_then(|n| u8::try_from(n).ok())
        .ok_or((HeaderErrorKind::Number, 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_forwards_is_0_to_255() {
        assert_eq!(parse_max_forwards(b"0068"), Ok(68));
        assert_eq!(parse_max_forwards(b"255"), Ok(255));
        assert!(parse_max_forwards(b"300").is_err());
        assert!(parse_max_forwards(b"-1").is_err());
    }

    #[test]
    fn call_id_has_no_white_space() {
        assert_eq!(
            parse_call_id(b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"),
            Ok(&b"intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{"[..])
        );
        assert!(parse_call_id(b"a b").is_err());
    }
}
