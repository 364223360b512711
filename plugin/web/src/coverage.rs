//! The coverage view: every ERL with the network elements that reach it, the ERLs nothing
//! reaches, neither a network element nor a caller's static location (what Lync's
//! `Get-CsLisLocation -Unreferenced` lists: a location nobody's call can land on, often a
//! typo in an element row), and the elements that send
//! calls to an ERL whose address was not validated against the MSAG (such a call is routed
//! as if it had no location when the policy demands validation).
//!
//! Built from the policy's ERLs and callers and the element rows the compile step kept
//! (`e911_policy::Sources::compile_with_elements`); nothing is looked up again.

use e911_engine::address_line;
use e911_policy::{ElementRow, Policy, Validation};
use serde::Serialize;

/// One element row, named for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ElementView {
    /// `subnet`, `bssid`, `chassis` or `port`.
    pub kind: &'static str,
    /// The element as written in its file.
    pub element: String,
    /// The id of the ERL it names.
    pub erl: String,
    /// The file that defines it.
    pub file: String,
    /// Its line there.
    pub line: u32,
}

/// One ERL and what reaches it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErlCoverage {
    /// The ERL's id.
    pub id: String,
    /// Its description.
    pub description: String,
    /// Its civic address in one line.
    pub address: String,
    /// Whether the address is MSAG-validated.
    pub validated: bool,
    /// Its ELINs.
    pub elins: Vec<String>,
    /// The network elements that name it.
    pub elements: Vec<ElementView>,
    /// Callers that have it as their static location.
    pub callers: Vec<String>,
}

/// The whole view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Coverage {
    /// Every ERL, in bundle order.
    pub erls: Vec<ErlCoverage>,
    /// Ids of the ERLs that no network element and no caller's static location reaches.
    pub unreferenced: Vec<String>,
    /// Elements whose ERL is not MSAG-validated.
    pub unvalidated: Vec<ElementView>,
}

/// The coverage of `policy`, given the element rows of its sources.
pub fn of(policy: &Policy, rows: &[ElementRow]) -> Coverage {
    let erl_id = |index: u32| {
        policy
            .erls()
            .get(index as usize)
            .map_or_else(String::new, |e| e.id.clone())
    };
    let view = |row: &ElementRow| ElementView {
        kind: row.kind.as_str(),
        element: row.element.clone(),
        erl: erl_id(row.erl),
        file: row.file.clone(),
        line: row.line,
    };
    let erls: Vec<ErlCoverage> = policy
        .erls()
        .iter()
        .enumerate()
        .map(|(index, erl)| {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            ErlCoverage {
                id: erl.id.clone(),
                description: erl.description.clone(),
                address: address_line(&erl.civic, erl.inside()),
                validated: erl.validation == Validation::Validated,
                elins: erl.elins.clone(),
                elements: rows.iter().filter(|r| r.erl == index).map(view).collect(),
                callers: policy
                    .callers()
                    .iter()
                    .filter(|c| c.location == Some(index))
                    .map(|c| c.identity.clone())
                    .collect(),
            }
        })
        .collect();
    let unreferenced = erls
        .iter()
        .filter(|e| e.elements.is_empty() && e.callers.is_empty())
        .map(|e| e.id.clone())
        .collect();
    let unvalidated = rows
        .iter()
        .filter(|row| {
            policy
                .erls()
                .get(row.erl as usize)
                .is_some_and(|erl| erl.validation != Validation::Validated)
        })
        .map(view)
        .collect();
    Coverage {
        erls,
        unreferenced,
        unvalidated,
    }
}
