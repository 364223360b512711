//! `Priority` (RFC 3261 §20.26), with `psap-callback` (RFC 7090 §5).

use crate::error::HeaderErrorKind;
use crate::lex::{eq_ic, is_token_str};

use super::list::Fail;

/// A Priority value. Tokens compare case-insensitively (RFC 3261 §7.3.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority<'a> {
    /// `emergency`.
    Emergency,
    /// `urgent`.
    Urgent,
    /// `normal`.
    Normal,
    /// `non-urgent`.
    NonUrgent,
    /// `psap-callback` (RFC 7090 §5): a PSAP calling back after an emergency call.
    PsapCallback,
    /// Any other token.
    Other(&'a [u8]),
}

impl<'a> Priority<'a> {
    /// The token to write.
    pub fn as_bytes(&self) -> &'a [u8] {
        match self {
            Self::Emergency => b"emergency",
            Self::Urgent => b"urgent",
            Self::Normal => b"normal",
            Self::NonUrgent => b"non-urgent",
            Self::PsapCallback => b"psap-callback",
            Self::Other(t) => t,
        }
    }

    /// Parses a trimmed, non-empty value.
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        if !is_token_str(s) {
            return Err((HeaderErrorKind::Syntax, 0));
        }
        let known = [
            Self::Emergency,
            Self::Urgent,
            Self::Normal,
            Self::NonUrgent,
            Self::PsapCallback,
        ];
        Ok(known
            .into_iter()
            .find(|k| eq_ic(k.as_bytes(), s))
            .unwrap_or(Self::Other(s)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_known_priorities() {
        assert_eq!(Priority::parse(b"Emergency"), Ok(Priority::Emergency));
        assert_eq!(
            Priority::parse(b"psap-callback"),
            Ok(Priority::PsapCallback)
        );
        assert_eq!(Priority::parse(b"non-urgent"), Ok(Priority::NonUrgent));
        assert_eq!(Priority::parse(b"x-low"), Ok(Priority::Other(b"x-low")));
        assert!(Priority::parse(b"not a token").is_err());
        assert_eq!(Priority::PsapCallback.as_bytes(), b"psap-callback");
    }
}
