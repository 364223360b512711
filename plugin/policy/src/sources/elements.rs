//! Network elements from CSV: subnets, wireless access points, switches, switch ports.
//!
//! A file's role comes from its columns, the way the LIS cmdlets name them:
//! `Subnet` (`Set-CsLisSubnet`), `BSSID` (`Set-CsLisWirelessAccessPoint`), `ChassisID`
//! (`Set-CsLisSwitch`), `ChassisID` + `PortID` (`Set-CsLisPort`). Each row names its ERL by
//! an `erl` (native) or `LocationId` (Teams) column, or carries the address inline (Lync).
//! `PortIDSubType` is accepted and ignored: the LLDP header gives the port ID as text, and
//! ports compare by that text without case.

use std::collections::HashMap;

use e911_location::lis::{ElementKind, MacPrefix, NetworkMapBuilder, canonical_chassis};

use super::erls::{AddressColumns, ErlSet};
use super::listing::{ElementRow, Listing};
use super::subnet::{self, Subnet};
use crate::csv::{Record, Table};
use crate::model::Counts;
use crate::problem::Problems;

/// Columns that reference an ERL from an element row.
const REF_COLUMNS: [&str; 3] = ["erl", "erlid", "locationid"];

/// What a CSV file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Erls,
    Subnets,
    Bssids,
    Switches,
    Ports,
}

/// The role of a table, from its columns; `Err` names the conflicting columns.
pub(crate) fn role(table: &Table<'_>) -> Result<Role, String> {
    let has = |name: &str| table.columns.iter().any(|c| c == name);
    let found: Vec<(&str, Role)> = [
        ("subnet", Role::Subnets),
        ("bssid", Role::Bssids),
        ("portid", Role::Ports),
    ]
    .into_iter()
    .filter(|(c, _)| has(c))
    .collect();
    match found.as_slice() {
        [] if has("chassisid") => Ok(Role::Switches),
        [] => Ok(Role::Erls),
        [(_, role)] => Ok(*role),
        _ => {
            let names: Vec<&str> = found.iter().map(|(c, _)| *c).collect();
            Err(format!(
                "cannot tell what this file lists: it has columns {}",
                names.join(", ")
            ))
        }
    }
}

/// One subnet element, kept for the ELIN coverage check.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SubnetRow {
    pub subnet: Subnet,
    pub erl: u32,
    pub file: u32,
    pub line: u32,
}

/// Where an element was first defined, to name it in a duplicate report.
type Seen<K> = HashMap<K, (u32, u32)>;

/// Everything the element files added.
#[derive(Debug, Default)]
pub(crate) struct Elements {
    pub builder: NetworkMapBuilder,
    pub subnets: Vec<SubnetRow>,
    /// ERL index and first file/line of every non-subnet element, for the ELIN check.
    pub others: Vec<(u32, u32, u32)>,
    pub counts: Counts,
    /// Every element as written, when the compile was asked to keep them.
    pub rows: Option<Vec<ElementRow>>,
    seen_subnets: Seen<Subnet>,
    seen_bssids: Seen<(u64, u64)>,
    seen_chassis: Seen<String>,
    seen_ports: Seen<(String, String)>,
}

/// One file being read: its name (and index, for compact rows) and the ERL columns.
struct FileCtx<'f> {
    name: &'f str,
    index: u32,
    reference: Option<usize>,
    address: AddressColumns,
}

impl Elements {
    /// No elements yet; `listing` says whether to keep an [`ElementRow`] per element.
    pub(crate) fn new(listing: Listing) -> Self {
        Self {
            rows: (listing == Listing::Keep).then(Vec::new),
            ..Self::default()
        }
    }

    /// Keeps the row of an element just added, if rows are kept.
    fn list(&mut self, kind: ElementKind, element: String, erl: u32, ctx: &FileCtx<'_>, line: u32) {
        if let Some(rows) = &mut self.rows {
            rows.push(ElementRow {
                kind,
                element,
                erl,
                file: ctx.name.to_owned(),
                line,
            });
        }
    }

    /// Reads one element file of the given role.
    pub(crate) fn import_table(
        &mut self,
        (name, index): (&str, u32),
        table: &Table<'_>,
        role: Role,
        erls: &mut ErlSet,
        problems: &mut Problems,
    ) {
        let ctx = FileCtx {
            name,
            index,
            reference: table.column(&REF_COLUMNS),
            address: AddressColumns::find(table),
        };
        if ctx.reference.is_none() && !ctx.address.has_address() {
            let message = "missing column `erl` (or Teams `LocationId`, or a Lync inline address with `Country`)";
            problems.at(name, table.header_line, message);
            return;
        }
        let columns = Columns::find(table, role);
        for (column, label) in columns.required() {
            if column.is_none() {
                problems.at(name, table.header_line, format!("missing column `{label}`"));
                return;
            }
        }
        for record in &table.records {
            let Some(erl) = self.erl_of(&ctx, record, erls, problems) else {
                continue;
            };
            let result = match role {
                Role::Subnets => self.add_subnet(&ctx, record, &columns, erl),
                Role::Bssids => self.add_bssid(&ctx, record, &columns, erl),
                Role::Switches => self.add_chassis(&ctx, record, &columns, erl),
                Role::Ports => self.add_port(&ctx, record, &columns, erl),
                Role::Erls => Ok(()),
            };
            if let Err(message) = result {
                problems.at(name, record.line, message);
            }
        }
    }

    fn erl_of(
        &self,
        ctx: &FileCtx<'_>,
        record: &Record<'_>,
        erls: &mut ErlSet,
        problems: &mut Problems,
    ) -> Option<u32> {
        if ctx.reference.is_some() {
            let id = record.get(ctx.reference);
            let found = erls.index(id);
            if found.is_none() && erls.complete {
                let message = if id.is_empty() {
                    String::from("no ERL given")
                } else {
                    format!("unknown ERL `{id}`")
                };
                problems.at(ctx.name, record.line, message);
            }
            return found;
        }
        Some(erls.inline_row(ctx.name, record, &ctx.address, problems))
    }

    fn add_subnet(
        &mut self,
        ctx: &FileCtx<'_>,
        record: &Record<'_>,
        c: &Columns,
        erl: u32,
    ) -> Result<(), String> {
        let parsed = subnet::parse(record.get(c.key), record.get(c.length))?;
        first_sighting(
            &mut self.seen_subnets,
            parsed,
            ctx,
            record.line,
            "subnet",
            &parsed.to_string(),
        )?;
        self.builder
            .add_subnet(parsed.addr, parsed.len, erl)
            .map_err(|e| format!("bad subnet {parsed}: {e}"))?;
        self.subnets.push(SubnetRow {
            subnet: parsed,
            erl,
            file: ctx.index,
            line: record.line,
        });
        self.list(
            ElementKind::Subnet,
            parsed.to_string(),
            erl,
            ctx,
            record.line,
        );
        self.counts.subnets += 1;
        Ok(())
    }

    fn add_bssid(
        &mut self,
        ctx: &FileCtx<'_>,
        record: &Record<'_>,
        c: &Columns,
        erl: u32,
    ) -> Result<(), String> {
        let text = record.get(c.key);
        let prefix = MacPrefix::parse(text).ok_or_else(|| format!("bad BSSID `{text}`: expected 12 hex digits with -, : or no separators, optionally ending in *"))?;
        first_sighting(
            &mut self.seen_bssids,
            prefix.range(),
            ctx,
            record.line,
            "BSSID",
            text,
        )?;
        self.builder
            .add_bssid(text, erl)
            .map_err(|e| format!("bad BSSID `{text}`: {e}"))?;
        self.others.push((erl, ctx.index, record.line));
        self.list(ElementKind::Bssid, text.to_owned(), erl, ctx, record.line);
        self.counts.bssids += 1;
        Ok(())
    }

    fn add_chassis(
        &mut self,
        ctx: &FileCtx<'_>,
        record: &Record<'_>,
        c: &Columns,
        erl: u32,
    ) -> Result<(), String> {
        let text = record.get(c.key);
        first_sighting(
            &mut self.seen_chassis,
            canonical_chassis(text),
            ctx,
            record.line,
            "chassis",
            text,
        )?;
        self.builder
            .add_chassis(text, erl)
            .map_err(|e| format!("bad chassis ID `{text}`: {e}"))?;
        self.others.push((erl, ctx.index, record.line));
        self.list(ElementKind::Chassis, text.to_owned(), erl, ctx, record.line);
        self.counts.chassis += 1;
        Ok(())
    }

    fn add_port(
        &mut self,
        ctx: &FileCtx<'_>,
        record: &Record<'_>,
        c: &Columns,
        erl: u32,
    ) -> Result<(), String> {
        let (chassis, port) = (record.get(c.chassis), record.get(c.key));
        let key = (canonical_chassis(chassis), port.to_ascii_lowercase());
        first_sighting(
            &mut self.seen_ports,
            key,
            ctx,
            record.line,
            "port",
            &format!("{chassis} {port}"),
        )?;
        self.builder
            .add_port(chassis, port, erl)
            .map_err(|e| format!("bad port `{chassis}` `{port}`: {e}"))?;
        self.others.push((erl, ctx.index, record.line));
        let shown = format!("{chassis} {port}");
        self.list(ElementKind::Port, shown, erl, ctx, record.line);
        self.counts.ports += 1;
        Ok(())
    }
}

/// Records where `key` was first seen, or says it is a duplicate of that.
fn first_sighting<K: core::hash::Hash + Eq>(
    seen: &mut Seen<K>,
    key: K,
    ctx: &FileCtx<'_>,
    line: u32,
    what: &str,
    shown: &str,
) -> Result<(), String> {
    match seen.get(&key) {
        Some(&(file, first)) if file == ctx.index => {
            Err(format!("duplicate {what} {shown} (first at line {first})"))
        }
        Some(_) => Err(format!(
            "duplicate {what} {shown} (also in another element file)"
        )),
        None => {
            seen.insert(key, (ctx.index, line));
            Ok(())
        }
    }
}

/// The element columns of a file.
struct Columns {
    key: Option<usize>,
    chassis: Option<usize>,
    length: Option<usize>,
    role: Role,
}

impl Columns {
    fn find(table: &Table<'_>, role: Role) -> Self {
        let key = match role {
            Role::Subnets => table.column(&["subnet"]),
            Role::Bssids => table.column(&["bssid"]),
            Role::Switches => table.column(&["chassisid"]),
            Role::Ports => table.column(&["portid"]),
            Role::Erls => None,
        };
        let chassis = table.column(&["chassisid"]);
        Self {
            key,
            chassis,
            length: table.column(&["prefixlength", "masklength"]),
            role,
        }
    }

    fn required(&self) -> Vec<(Option<usize>, &'static str)> {
        match self.role {
            Role::Ports => vec![(self.chassis, "ChassisID")],
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::csv;

    fn import(text: &str, role_expected: Role) -> (Elements, Vec<String>) {
        let mut erls = ErlSet::new(true);
        let mut problems = Problems::default();
        let erl_table = csv::parse("id,country\nf1,US\nf2,US\n").unwrap();
        erls.import_table("erls.csv", &erl_table, &mut problems);
        let table = csv::parse(text).unwrap();
        assert_eq!(role(&table), Ok(role_expected));
        let mut elements = Elements::default();
        elements.import_table(
            ("e.csv", 1),
            &table,
            role_expected,
            &mut erls,
            &mut problems,
        );
        (
            elements,
            problems
                .into_sorted()
                .into_iter()
                .map(|p| p.to_string())
                .collect(),
        )
    }

    #[test]
    fn reports_duplicate_bad_and_unknown_subnets_per_row() {
        let (elements, problems) = import(
            "subnet,erl\n10.1.0.0/16,f1\n10.1.0.0,f2\n10.1.2.5/16,f1\n10.0.0.0/40,f1\n10.3.0.0,nowhere\n",
            Role::Subnets,
        );
        assert_eq!(elements.counts.subnets, 1);
        assert_eq!(
            problems,
            [
                "e.csv:3: duplicate subnet 10.1.0.0/16 (first at line 2)",
                "e.csv:4: bad subnet 10.1.2.5/16: address has bits set past the prefix length",
                "e.csv:5: prefix length /40 is longer than the address (/32)",
                "e.csv:6: unknown ERL `nowhere`",
            ]
        );
    }

    #[test]
    fn reports_bad_and_duplicate_bssids() {
        let (_, problems) = import(
            "BSSID,LocationId\n00-11-22-33-44-55,f1\n00:11:22:33:44:55,f2\n00-11-22,f1\n",
            Role::Bssids,
        );
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("e.csv:3: duplicate BSSID"));
        assert!(problems[1].starts_with("e.csv:4: bad BSSID `00-11-22`"));
    }

    #[test]
    fn port_files_need_a_chassis_column() {
        let (_, problems) = import("PortID,erl\nGi1/0/7,f1\n", Role::Ports);
        assert_eq!(problems, ["e.csv:1: missing column `ChassisID`"]);
    }

    #[test]
    fn element_files_need_an_erl_reference() {
        let (_, problems) = import("Subnet,Description\n10.0.0.0,x\n", Role::Subnets);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].starts_with("e.csv:1: missing column `erl`"));
    }

    #[test]
    fn a_file_with_two_element_columns_is_ambiguous() {
        let table = csv::parse("Subnet,BSSID\n").unwrap();
        assert!(role(&table).is_err());
    }
}
