//! The `policies/contoso` example bundle, compiled into the unit tests.

use crate::{Policy, Sources};

macro_rules! contoso_file {
    ($name:literal) => {
        (
            $name,
            include_str!(concat!("../../../policies/contoso/", $name)),
        )
    };
}

/// Every file of the contoso bundle.
pub(crate) const CONTOSO: [(&str, &str); 11] = [
    contoso_file!("bundle.toml"),
    contoso_file!("policies.toml"),
    contoso_file!("routes.toml"),
    contoso_file!("sites.toml"),
    contoso_file!("notifications.toml"),
    contoso_file!("callers.toml"),
    contoso_file!("erls.csv"),
    contoso_file!("subnets.csv"),
    contoso_file!("wireless.csv"),
    contoso_file!("switches.csv"),
    contoso_file!("ports.csv"),
];

/// The contoso sources with one text replacement in one file (for variants and breakage).
pub(crate) fn contoso_sources(file: &str, from: &str, to: &str) -> Sources {
    Sources::from_files(CONTOSO.map(|(name, text)| {
        let text = if name == file {
            text.replace(from, to)
        } else {
            text.to_owned()
        };
        (name, text)
    }))
}

/// The contoso policy with one replacement in `policies.toml`.
pub(crate) fn contoso_with(from: &str, to: &str) -> Policy {
    match contoso_sources("policies.toml", from, to).compile() {
        Ok(policy) => policy,
        Err(problems) => panic!("contoso does not compile: {problems:#?}"),
    }
}

/// The contoso policy as shipped.
pub(crate) fn contoso() -> Policy {
    contoso_with("", "")
}
