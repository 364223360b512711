//! `Bundle::load` on signed and unsigned bytes, with and without trusted keys. Invariants:
//!
//! - it never panics (a bundle comes from a registry or an HTTP endpoint);
//! - `Bundle::inspect` agrees with what `load` read;
//! - a bundle that loads writes back as a bundle that loads to the same header facts and
//!   the same policy, and writing that one again gives the same bytes.
//!
//! Arbitrary bytes rarely pass the digest, so most inputs are edits of the contoso
//! bundle's payload, re-hashed (and re-signed) here: that is where the decoder and the
//! index checks live. Input: a mode byte (bit 0: sign, bit 1: trust the fuzz key, bits
//! 2-3: raw bytes, patches or a splice), then what the mode reads.
#![no_main]

use std::sync::LazyLock;

use e911_fuzz::Choices;
use e911_policy::{Bundle, MAGIC, PublicKey, SecretKey, write_envelope_for_fuzzing};
use libfuzzer_sys::fuzz_target;

static KEY: LazyLock<SecretKey> = LazyLock::new(|| SecretKey::from_seed([7; 32]));

/// The contoso policy's revision and payload, as the writer lays them out.
static CONTOSO: LazyLock<(String, Vec<u8>)> = LazyLock::new(|| {
    let policy = e911_fuzz::contoso_policy();
    let bytes = policy.write_bundle(None).unwrap();
    let revision = Bundle::inspect(&bytes).unwrap().revision;
    let header = MAGIC.len() + 2 + 2 + 2 + revision.len() + 8 + 32;
    (revision, bytes[header..].to_vec())
});

fuzz_target!(|data: &[u8]| {
    let mut choices = Choices::new(data);
    let mode = choices.byte();
    let signer = (mode & 1 == 1).then(|| &*KEY);
    let trusted: Vec<PublicKey> = if mode & 2 == 2 {
        vec![KEY.public_key()]
    } else {
        Vec::new()
    };
    let bytes = match (mode >> 2) % 3 {
        0 => choices.rest().to_vec(),
        1 => {
            let (revision, payload) = &*CONTOSO;
            envelope(revision, &patched(payload, &mut choices), signer)
        }
        _ => {
            let (revision, payload) = &*CONTOSO;
            envelope(revision, &spliced(payload, &mut choices), signer)
        }
    };
    check(&bytes, &trusted);
});

fn check(bytes: &[u8], trusted: &[PublicKey]) {
    let Ok(bundle) = Bundle::load(bytes, trusted) else {
        return;
    };
    let inspected = Bundle::inspect(bytes).expect("a bundle that loads inspects");
    assert_eq!(&inspected, bundle.info());

    // Only the fuzz key can have signed what loaded: nothing else forges a signature.
    let signer = bundle.info().signer.map(|key| {
        assert_eq!(key, KEY.public_key(), "signed by a key nobody holds");
        &*KEY
    });
    let written = bundle
        .policy()
        .write_bundle(signer)
        .expect("a loaded policy writes");
    let reloaded = Bundle::load(&written, trusted).expect("a rewritten bundle loads");
    assert_eq!(reloaded.info().revision, bundle.info().revision);
    assert_eq!(reloaded.info().signer, bundle.info().signer);
    assert_eq!(reloaded.counts(), bundle.counts());
    assert_eq!(
        reloaded.policy(),
        bundle.policy(),
        "the policy changed on the round trip"
    );
    let rewritten = reloaded.policy().write_bundle(signer).unwrap();
    assert_eq!(rewritten, written, "writing is not stable");
}

/// Byte patches: (offset, value) pairs until the input ends.
fn patched(payload: &[u8], choices: &mut Choices<'_>) -> Vec<u8> {
    let mut out = payload.to_vec();
    while !choices.rest().is_empty() && !out.is_empty() {
        let at = usize::from(choices.u16()) % out.len();
        out[at] = choices.byte();
    }
    out
}

/// The payload with a range replaced by the rest of the input.
fn spliced(payload: &[u8], choices: &mut Choices<'_>) -> Vec<u8> {
    let at = usize::from(choices.u16()) % (payload.len() + 1);
    let removed = usize::from(choices.byte()).min(payload.len() - at);
    [&payload[..at], choices.rest(), &payload[at + removed..]].concat()
}

/// `payload` sealed by the bundle writer's own envelope code: digest and signature right.
fn envelope(revision: &str, payload: &[u8], signer: Option<&SecretKey>) -> Vec<u8> {
    write_envelope_for_fuzzing(revision, payload, signer).unwrap()
}
