//! Ed25519 keys for signing bundles.
//!
//! Key generation takes 32 random bytes from the caller: the harness reads them from the
//! operating system, and nothing on the loading path ever needs randomness (signing with
//! Ed25519 is deterministic, RFC 8032 §5.1.6).

use core::fmt;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// A bundle signing key (Ed25519 secret key).
#[derive(Clone)]
pub struct SecretKey(SigningKey);

/// A bundle verification key (Ed25519 public key) that loaders trust.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

/// Why key text was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Not 64 hex digits.
    #[error("expected 64 hex digits (32 bytes)")]
    BadHex,
    /// 32 bytes that are not a point on the curve.
    #[error("not an Ed25519 public key")]
    NotAKey,
}

impl SecretKey {
    /// The key for 32 secret random bytes (the RFC 8032 seed).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    /// The seed as 64 hex digits, for a key file.
    pub fn to_hex(&self) -> String {
        hex(&self.0.to_bytes())
    }

    /// Reads [`SecretKey::to_hex`]'s output (surrounding whitespace allowed).
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        Ok(Self::from_seed(unhex(text)?))
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.0.sign(message).to_bytes()
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretKey(for {})", self.public_key().key_id())
    }
}

impl PublicKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        VerifyingKey::from_bytes(&bytes)
            .map(Self)
            .map_err(|_| KeyError::NotAKey)
    }

    /// The key from 64 hex digits.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        Self::from_bytes(unhex(text)?)
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key as 64 hex digits.
    pub fn to_hex(&self) -> String {
        hex(&self.0.to_bytes())
    }

    /// A short id for logs and status: the first 8 bytes of the key's SHA-256, in hex.
    pub fn key_id(&self) -> String {
        let digest = Sha256::digest(self.0.as_bytes());
        hex(digest.get(..8).unwrap_or_default())
    }

    /// Strict verification (RFC 8032 §5.1.7, refusing small-order keys and
    /// non-canonical signatures).
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8; 64]) -> bool {
        let signature = ed25519_dalek::Signature::from_bytes(signature);
        self.0.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.key_id())
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Result<[u8; 32], KeyError> {
    let text = text.trim().as_bytes();
    let mut out = [0u8; 32];
    if text.len() != 64 {
        return Err(KeyError::BadHex);
    }
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        let digit = |c: u8| char::from(c).to_digit(16).ok_or(KeyError::BadHex);
        let (high, low) = match pair {
            [h, l] => (digit(*h)?, digit(*l)?),
            _ => return Err(KeyError::BadHex),
        };
        *byte = u8::try_from(high * 16 + low).map_err(|_| KeyError::BadHex)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_through_hex() {
        let secret = SecretKey::from_seed([7; 32]);
        let again = SecretKey::from_hex(&format!(" {}\n", secret.to_hex())).unwrap();
        assert_eq!(again.public_key(), secret.public_key());
        let public = PublicKey::from_hex(&secret.public_key().to_hex()).unwrap();
        assert_eq!(public, secret.public_key());
        assert_eq!(public.key_id().len(), 16);
    }

    #[test]
    fn refuses_bad_key_text() {
        assert_eq!(PublicKey::from_hex("abc").unwrap_err(), KeyError::BadHex);
        assert_eq!(
            SecretKey::from_hex(&"zz".repeat(32)).unwrap_err(),
            KeyError::BadHex
        );
    }

    #[test]
    fn signatures_verify_only_for_their_message() {
        let secret = SecretKey::from_seed([1; 32]);
        let signature = secret.sign(b"bundle");
        assert!(secret.public_key().verify(b"bundle", &signature));
        assert!(!secret.public_key().verify(b"bundlf", &signature));
    }
}
