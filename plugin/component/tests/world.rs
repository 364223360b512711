//! The built component imports nothing but our world and exports `configure` and
//! `on-message`: a host needs only `e911:policy` (no WASI) to run it (DESIGN §5).
//!
//! Reads `target/wasm/e911_policy.component.wasm`, which `cargo xtask build-component`
//! writes (and `cargo xtask test` runs before the tests); builds it first when missing.
//! `E911_COMPONENT=path` checks another build instead.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use wit_component::DecodedWasm;
use wit_parser::{TypeDefKind, WorldItem};

const ALLOWED_IMPORTS: &[&str] = &[
    "e911:policy/callback-store@0.6.0",
    "e911:policy/notifier@0.6.0",
    "e911:policy/log@0.6.0",
];

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn component() -> Vec<u8> {
    if let Some(path) = std::env::var_os("E911_COMPONENT") {
        return std::fs::read(path).unwrap();
    }
    let path = root().join("target/wasm/e911_policy.component.wasm");
    if !path.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status = Command::new(cargo)
            .current_dir(root())
            .args(["xtask", "build-component"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo xtask build-component failed");
    }
    std::fs::read(&path).unwrap()
}

#[test]
fn imports_only_our_world_and_exports_configure_and_on_message() {
    let bytes = component();
    let (resolve, world) = match wit_component::decode(&bytes).unwrap() {
        DecodedWasm::Component(resolve, world) => (resolve, world),
        DecodedWasm::WitPackage(..) => panic!("a WIT package, not a component"),
    };
    let world = &resolve.worlds[world];

    let mut unexpected = Vec::new();
    let mut imported = Vec::new();
    for (key, item) in &world.imports {
        let name = resolve.name_world_key(key);
        match item {
            WorldItem::Interface { .. } if ALLOWED_IMPORTS.contains(&name.as_str()) => {
                imported.push(name)
            }
            // A type the world itself names (a record in the exports' signatures) is no
            // capability a host provides; a resource would be.
            WorldItem::Type { id, .. }
                if !matches!(resolve.types[*id].kind, TypeDefKind::Resource) => {}
            _ => unexpected.push(name),
        }
    }
    assert!(unexpected.is_empty(), "unexpected imports: {unexpected:?}");
    imported.sort();
    let mut allowed = ALLOWED_IMPORTS.to_vec();
    allowed.sort_unstable();
    assert_eq!(imported, allowed);

    let mut exports: Vec<String> = world
        .exports
        .iter()
        .map(|(key, item)| {
            assert!(
                matches!(item, WorldItem::Function(_)),
                "export {} is not a function",
                resolve.name_world_key(key)
            );
            resolve.name_world_key(key)
        })
        .collect();
    exports.sort();
    assert_eq!(exports, ["configure", "on-message"]);
    println!(
        "imports {imported:?}, exports {exports:?}, {} bytes",
        bytes.len()
    );
}
