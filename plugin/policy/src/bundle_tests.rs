//! Writing and loading bundles: a round trip, and one refusal per kind of damage.

use super::*;
use crate::testdata::contoso;
use e911_location::Point;

fn key(n: u8) -> SecretKey {
    SecretKey::from_seed([n; 32])
}

/// The offset of the payload in a bundle written by `write_bundle`.
fn payload_offset(bytes: &[u8], signed: bool) -> usize {
    let revision = usize::from(u16::from_le_bytes([bytes[12], bytes[13]]));
    14 + revision + 8 + 32 + if signed { 96 } else { 0 }
}

#[test]
fn unsigned_bundle_round_trips_to_an_equal_policy() {
    let policy = contoso();
    let bytes = policy.write_bundle(None).unwrap();
    assert_eq!(&bytes[..8], b"E911BNDL");
    let bundle = Bundle::load(&bytes, &[]).unwrap();
    assert_eq!(bundle.policy(), &policy);
    // What each ERL names inside is not in the bundle: loading works it out again.
    for erl in bundle.policy().erls() {
        assert_eq!(
            erl.inside,
            Some(crate::civic::Inside::of(&erl.civic)),
            "{}",
            erl.id
        );
    }
    let info = bundle.info();
    assert_eq!(
        (info.revision.as_str(), info.signer, info.size),
        ("2026.11.1", None, bytes.len())
    );
    assert_eq!(info.digest_hex().len(), 64);
    assert_eq!(bundle.counts().erls, 4);
    assert_eq!(bundle.counts().elements(), 8);
}

#[test]
fn signed_bundle_loads_with_its_key_and_names_the_signer() {
    let signer = key(1);
    let bytes = contoso().write_bundle(Some(&signer)).unwrap();
    let bundle = Bundle::load(&bytes, &[key(2).public_key(), signer.public_key()]).unwrap();
    assert_eq!(
        bundle.info().signer_key_id(),
        Some(signer.public_key().key_id())
    );
    assert_eq!(
        Bundle::inspect(&bytes).unwrap().signer,
        Some(signer.public_key())
    );
}

#[test]
fn writing_is_deterministic() {
    let policy = contoso();
    assert_eq!(
        policy.write_bundle(Some(&key(1))).unwrap(),
        policy.write_bundle(Some(&key(1))).unwrap()
    );
}

#[test]
fn refuses_each_kind_of_damage_with_its_own_error() {
    let policy = contoso();
    let unsigned = policy.write_bundle(None).unwrap();
    let signed = policy.write_bundle(Some(&key(1))).unwrap();
    let trusted = [key(1).public_key()];
    let damaged = |bytes: &[u8], at: usize| {
        let mut copy = bytes.to_vec();
        copy[at] ^= 0x01;
        copy
    };
    let cases: Vec<(&str, Vec<u8>, &[PublicKey], LoadError)> = vec![
        ("magic", damaged(&unsigned, 0), &[], LoadError::BadMagic),
        (
            "version",
            damaged(&unsigned, 8),
            &[],
            LoadError::UnsupportedVersion(FORMAT_VERSION ^ 1),
        ),
        (
            "truncated header",
            unsigned[..20].to_vec(),
            &[],
            LoadError::Truncated,
        ),
        (
            "truncated payload",
            unsigned[..unsigned.len() - 1].to_vec(),
            &[],
            LoadError::Truncated,
        ),
        (
            "payload byte",
            damaged(&unsigned, payload_offset(&unsigned, false) + 3),
            &[],
            LoadError::DigestMismatch,
        ),
        (
            "signed payload byte",
            damaged(&signed, payload_offset(&signed, true) + 3),
            &trusted,
            LoadError::DigestMismatch,
        ),
        (
            "revision under signature",
            damaged(&signed, 14),
            &trusted,
            LoadError::BadSignature,
        ),
        (
            "signature byte",
            damaged(&signed, payload_offset(&signed, true) - 1),
            &trusted,
            LoadError::BadSignature,
        ),
        (
            "unsigned with keys",
            unsigned.clone(),
            &trusted,
            LoadError::Unsigned,
        ),
        (
            "other signer",
            policy.write_bundle(Some(&key(3))).unwrap(),
            &trusted,
            LoadError::UntrustedSigner {
                key_id: key(3).public_key().key_id(),
            },
        ),
        (
            "trailing bytes",
            [unsigned.as_slice(), b"x"].concat(),
            &[],
            LoadError::Malformed("bytes after the payload"),
        ),
    ];
    for (name, bytes, keys, expected) in cases {
        assert_eq!(Bundle::load(&bytes, keys).unwrap_err(), expected, "{name}");
    }
}

#[test]
fn a_well_digested_but_malformed_payload_is_refused_not_trusted() {
    let policy = contoso();
    let mut bytes = policy.write_bundle(None).unwrap();
    let at = payload_offset(&bytes, false);
    bytes.truncate(at);
    let garbage = [0xffu8; 16];
    bytes[at - 40..at - 32].copy_from_slice(&(garbage.len() as u64).to_le_bytes());
    bytes[at - 32..at].copy_from_slice(&Sha256::digest(garbage));
    bytes.extend_from_slice(&garbage);
    assert_eq!(
        Bundle::load(&bytes, &[]).unwrap_err(),
        LoadError::Malformed("payload does not decode")
    );
}

#[test]
fn a_loaded_bundle_decides_like_the_compiled_policy() {
    let policy = contoso();
    let loaded = Bundle::load(&policy.write_bundle(None).unwrap(), &[])
        .unwrap()
        .into_policy();
    let facts = crate::RawFacts {
        dialed: Some("911"),
        peer_ip: "10.2.0.9".parse().ok(),
        ..Default::default()
    };
    assert_eq!(loaded.decide(facts), policy.decide(facts));
}

/// Found by the `bundle_load` fuzz target: a well-signed payload whose ERL point had a NaN
/// latitude (or a longitude of 5e276) loaded, although the sources compiler refuses any
/// point out of range. Such a point cannot be written as a PIDF-LO the PSAP reads, and NaN
/// made the policy unequal to itself. The loader holds the compiler's rule.
#[test]
fn an_erl_point_out_of_range_is_refused() {
    for point in [
        Point::new(f64::NAN, -122.1),
        Point::new(47.6, 5.0e276),
        Point::new(91.0, 0.0),
        Point::new(47.6, -122.1).with_altitude(f64::INFINITY),
    ] {
        let mut policy = contoso();
        policy.erls[0].point = Some(point);
        let bytes = policy.write_bundle(None).unwrap();
        assert_eq!(
            Bundle::load(&bytes, &[]).unwrap_err(),
            LoadError::Malformed("an ERL's point is out of range or not a number"),
            "{point:?}"
        );
    }
    let mut policy = contoso();
    policy.erls[0].point = Some(Point::new(47.64, -122.13));
    assert!(Bundle::load(&policy.write_bundle(None).unwrap(), &[]).is_ok());
}
