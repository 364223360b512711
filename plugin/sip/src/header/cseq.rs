//! `CSeq` (RFC 3261 §20.16): sequence number and method.

use crate::error::HeaderErrorKind;
use crate::lex::{decimal_u32, is_lws, is_token_str, sub, trim};
use crate::method::Method;

use super::list::Fail;

/// A CSeq value: `1*DIGIT LWS Method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cseq<'a> {
    /// The sequence number, below 2**31.
    pub number: u32,
    /// The method, which must match the Request-Line's (RFC 4475 §3.1.2.17).
    pub method: Method<'a>,
}

impl<'a> Cseq<'a> {
    /// Parses a trimmed value. RFC 3261 §8.1.1.5: "The sequence number value MUST be
    /// expressible as a 32-bit unsigned integer and MUST be less than 2**31"
    /// (RFC 4475 §3.1.2.4 `scalar02.dat` carries 2**65).
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        let digits = s.iter().take_while(|&&b| !is_lws(b)).count();
        let number = decimal_u32(sub(s, 0, digits))
            .filter(|&n| n < 1 << 31)
            .ok_or((HeaderErrorKind::Number, 0))?;
        let method = trim(sub(s, digits, s.len()));
        if digits == s.len() || !is_token_str(method) {
            return Err((HeaderErrorKind::Syntax, digits));
        }
        Ok(Self {
            number,
            method: Method::from_bytes(method),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_folded_cseq_with_leading_zeros() {
        let c = Cseq::parse(b"0009\r\n  INVITE").unwrap();
        assert_eq!(c.number, 9);
        assert_eq!(c.method, Method::Invite);
    }

    #[test]
    fn refuses_overlarge_and_malformed_values() {
        assert_eq!(
            Cseq::parse(b"36893488147419103232 REGISTER").unwrap_err().0,
            HeaderErrorKind::Number
        );
        assert_eq!(
            Cseq::parse(b"2147483648 INVITE").unwrap_err().0,
            HeaderErrorKind::Number
        );
        assert!(Cseq::parse(b"2147483647 INVITE").is_ok());
        assert_eq!(Cseq::parse(b"1").unwrap_err().0, HeaderErrorKind::Syntax);
        assert_eq!(
            Cseq::parse(b"1 IN VITE").unwrap_err().0,
            HeaderErrorKind::Syntax
        );
        assert_eq!(
            Cseq::parse(b"x INVITE").unwrap_err().0,
            HeaderErrorKind::Number
        );
    }
}
