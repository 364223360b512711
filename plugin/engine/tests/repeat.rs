//! A call decided again by the same engine gets the same verdict. The engine keeps work
//! between calls (an ERL's PIDF-LO `civicAddress` element is written on its first
//! emergency call and copied on the next), and what it keeps must not change a byte.

// Test code: a broken fixture should fail loudly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use e911_engine::MemoryStore;

#[test]
fn every_sample_call_decided_twice_gets_the_same_verdict() {
    let dir = common::root().join("tests/corpus/emergency");
    let manifest = std::fs::read_to_string(dir.join("manifest.tsv")).unwrap();
    let engine = common::contoso();
    let mut samples = 0;
    for line in manifest.lines().skip(1) {
        let mut fields = line.split('\t');
        let (file, peer) = (fields.next().unwrap(), fields.next().unwrap());
        let bytes = std::fs::read(dir.join(file)).unwrap();
        let ctx = common::sample_ctx(peer);
        // A fresh store each time: a callback mapping would otherwise be a second use.
        let first = engine.on_message(&bytes, &ctx, &mut MemoryStore::default());
        let again = engine.on_message(&bytes, &ctx, &mut MemoryStore::default());
        assert_eq!(first, again, "{file}");
        samples += 1;
    }
    assert!(samples >= 10, "the manifest shrank to {samples} samples");
    let kept = engine
        .policy()
        .erls()
        .iter()
        .filter(|erl| erl.civic_markup().is_written())
        .count();
    assert!(
        kept >= 2,
        "only {kept} ERLs kept their civicAddress element"
    );
}
