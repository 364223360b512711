//! A location policy's numbers: its emergency numbers (each with its masks and route),
//! its test numbers and its outside-line prefixes.
//!
//! Two ways to write emergency numbers, which may be combined:
//!
//! - Lync's single-string form: `dial_strings` (`EmergencyDialString`) and `dial_masks`
//!   (`EmergencyDialMask`), every mask meaning the first dial string, every number on the
//!   policy's `route` (`PstnUsage`);
//! - `emergency_numbers` (Skype for Business `EmergencyNumbers`, Teams emergency numbers):
//!   one table per number with its own masks and route, so one site can send 112 to a
//!   local gateway and 911 to the provider.
//!
//! Every number a caller can dial (dial string, mask, test number) means one thing only:
//! one written twice in a policy is a problem, since which route it took would depend
//! on the order of the file.

use std::collections::HashMap;
use std::ops::Range;

use toml::Spanned;

use super::resolve::{Doc, Index, is_dial_string, route_ref};
use super::toml_files::{PoliciesFile, PolicyTable, StringList};
use crate::model::EmergencyNumber;
use crate::problem::Problems;

/// What a policy's callers may dial.
pub(crate) struct Dialling {
    pub numbers: Vec<EmergencyNumber>,
    pub test_numbers: Vec<String>,
    pub prefixes: Vec<String>,
}

pub(crate) fn resolve(
    doc: &Doc<'_, PoliciesFile>,
    t: &PolicyTable,
    routes: &Index,
    problems: &mut Problems,
) -> Dialling {
    let mut seen = Seen::default();
    let mut numbers = single_string_form(doc, t, &mut seen, problems);
    for entry in t.emergency_numbers.iter().flat_map(|list| list.get_ref()) {
        let n = entry.get_ref();
        let dial_string = n.dial_string.get_ref().trim().to_owned();
        if !is_dial_string(&dial_string) {
            doc.report(
                problems,
                n.dial_string.span(),
                format!("`{dial_string}` is not a dial string (digits, * and # only)"),
            );
        }
        seen.claim(doc, &dial_string, n.dial_string.span(), problems);
        let masks = dial_strings(doc, n.dial_masks.as_ref(), &mut seen, problems);
        numbers.push(EmergencyNumber {
            dial_string,
            masks,
            route: route_ref(doc, &n.route, routes, problems),
        });
    }
    Dialling {
        numbers,
        test_numbers: dial_strings(doc, t.test_numbers.as_ref(), &mut seen, problems),
        prefixes: dial_strings(
            doc,
            t.outside_line_prefixes.as_ref(),
            &mut Seen::default(),
            problems,
        ),
    }
}

/// `dial_strings` and `dial_masks`: one number per dial string, the masks on the first.
fn single_string_form(
    doc: &Doc<'_, PoliciesFile>,
    t: &PolicyTable,
    seen: &mut Seen,
    problems: &mut Problems,
) -> Vec<EmergencyNumber> {
    let strings = dial_strings(doc, t.dial_strings.as_ref(), seen, problems);
    let masks = dial_strings(doc, t.dial_masks.as_ref(), seen, problems);
    if strings.is_empty()
        && let (Some(list), false) = (&t.dial_masks, masks.is_empty())
    {
        doc.report(
            problems,
            list.span(),
            "dial masks need a dial string to stand for (`dial_strings`, EmergencyDialString)",
        );
    }
    let mut masks = Some(masks);
    strings
        .into_iter()
        .map(|dial_string| EmergencyNumber {
            dial_string,
            masks: masks.take().unwrap_or_default(),
            route: None,
        })
        .collect()
}

/// The items of a list, each checked to be a dial string and claimed in `seen`.
fn dial_strings(
    doc: &Doc<'_, PoliciesFile>,
    value: Option<&Spanned<StringList>>,
    seen: &mut Seen,
    problems: &mut Problems,
) -> Vec<String> {
    let Some(value) = value else {
        return Vec::new();
    };
    let items = value.get_ref().items();
    for item in &items {
        if is_dial_string(item) {
            seen.claim(doc, item, value.span(), problems);
        } else {
            doc.report(
                problems,
                value.span(),
                format!("`{item}` is not a dial string (digits, * and # only)"),
            );
        }
    }
    items
}

/// The numbers a policy has given a meaning, and where.
#[derive(Default)]
struct Seen {
    lines: HashMap<String, String>,
}

impl Seen {
    /// Reports `number` when it was given a meaning before. A leading `+` does not make a
    /// number different: classification drops it.
    fn claim(
        &mut self,
        doc: &Doc<'_, PoliciesFile>,
        number: &str,
        span: Range<usize>,
        problems: &mut Problems,
    ) {
        let key = number.trim().trim_start_matches('+').to_owned();
        let here = doc.line(&span);
        if let Some(first) = self.lines.get(&key) {
            doc.report(
                problems,
                span,
                format!("`{number}` already has a meaning in this policy (at {first})"),
            );
        } else {
            self.lines.insert(key, here);
        }
    }
}
