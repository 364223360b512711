//! [`ElementRow`]: each network element as its source row wrote it, for views that show
//! which elements reach each ERL (Lync's `Get-CsLisLocation -Unreferenced` lists the
//! locations nothing reaches). The compiled [`crate::NetworkMap`] flattens prefixes into
//! ranges and hashes keys, so it cannot answer that; the compile step keeps these rows
//! only when asked ([`crate::Sources::compile_with_elements`]).

use e911_location::lis::ElementKind;

/// One network element of the sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElementRow {
    /// What kind of element it is.
    pub kind: ElementKind,
    /// The element as written: `10.1.0.0/16`, `00-11-22-33-44-6*`, a chassis ID, or
    /// `chassis port`.
    pub element: String,
    /// Index of its ERL in [`crate::Policy::erls`].
    pub erl: u32,
    /// The source file that defines it.
    pub file: String,
    /// Its line in that file.
    pub line: u32,
}

/// Where one ERL was defined: its row in an ERL file, or the first Lync element row that
/// carried its address. Offline tools (an ALI export, an MSAG check) name this row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErlOrigin {
    /// Index of the ERL in [`crate::Policy::erls`].
    pub erl: u32,
    /// The source file that defines it.
    pub file: String,
    /// Its line in that file.
    pub line: u32,
}

/// Whether the compile step keeps an [`ElementRow`] per element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Listing {
    /// Keep them (coverage views).
    Keep,
    /// Do not: bundles for proxies need only the compiled tables.
    Skip,
}

#[cfg(test)]
mod tests {
    use crate::testdata::contoso_sources;
    use e911_location::lis::ElementKind;

    #[test]
    fn lists_every_contoso_element_with_its_erl_file_and_line() {
        let (policy, rows) = contoso_sources("bundle.toml", "", "")
            .compile_with_elements()
            .unwrap();
        let shown: Vec<(ElementKind, &str, &str, &str, u32)> = rows
            .iter()
            .map(|r| {
                let erl = policy.erls()[r.erl as usize].id.as_str();
                (r.kind, r.element.as_str(), erl, r.file.as_str(), r.line)
            })
            .collect();
        let count = |kind| shown.iter().filter(|r| r.0 == kind).count();
        let counts = policy.counts();
        assert_eq!(count(ElementKind::Subnet) as u64, u64::from(counts.subnets));
        assert_eq!(count(ElementKind::Bssid) as u64, u64::from(counts.bssids));
        assert_eq!(
            count(ElementKind::Chassis) as u64,
            u64::from(counts.chassis)
        );
        assert_eq!(count(ElementKind::Port) as u64, u64::from(counts.ports));
        assert!(shown.contains(&(
            ElementKind::Port,
            "00-aa-bb-cc-dd-ee Gi1/0/7",
            "redmond-b40-f2",
            "ports.csv",
            2
        )));
        assert!(shown.contains(&(
            ElementKind::Bssid,
            "00-11-22-33-44-6*",
            "redmond-b40-f1",
            "wireless.csv",
            3
        )));
    }

    #[test]
    fn plain_compile_keeps_no_rows_and_the_same_policy() {
        let sources = contoso_sources("bundle.toml", "", "");
        let (listed, _) = sources.compile_with_elements().unwrap();
        assert_eq!(sources.compile().unwrap(), listed);
    }
}
