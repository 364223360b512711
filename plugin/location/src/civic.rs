//! RFC 5139 civic addresses.
//!
//! A [`CivicAddress`] holds every element of the RFC 5139 civic address format
//! (<https://www.rfc-editor.org/rfc/rfc5139#section-3.1>), plus the `xml:lang`
//! of the `civicAddress` element. [`CivicElement`] names the elements and lists
//! them in the order of the schema's `xs:sequence` (RFC 5139 §4), which is the
//! order the writer must use: "The civicAddress element is a sequence".

/// One element of an RFC 5139 civic address.
///
/// [`CivicElement::ALL`] is in schema order (RFC 5139 §4); note that it is not
/// alphabetical and that `RD` comes before `HNO`, which several real systems
/// get wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CivicElement {
    /// `country`: ISO 3166-1 alpha-2 code, upper case.
    Country,
    /// `A1`: national subdivision (state, region, province, prefecture).
    A1,
    /// `A2`: county, parish, gun (JP), district (IN).
    A2,
    /// `A3`: city, township, shi (JP).
    A3,
    /// `A4`: city division, borough, city district, ward, chou (JP).
    A4,
    /// `A5`: neighbourhood, block.
    A5,
    /// `A6`: group of streets below the neighbourhood level.
    A6,
    /// `PRM`: road pre-modifier.
    Prm,
    /// `PRD`: leading street direction.
    Prd,
    /// `RD`: primary road or street.
    Rd,
    /// `STS`: street suffix or type.
    Sts,
    /// `POD`: trailing street suffix.
    Pod,
    /// `POM`: road post-modifier.
    Pom,
    /// `RDSEC`: road section.
    RdSec,
    /// `RDBR`: road branch.
    RdBr,
    /// `RDSUBBR`: road sub-branch.
    RdSubBr,
    /// `HNO`: house number.
    Hno,
    /// `HNS`: house number suffix.
    Hns,
    /// `LMK`: landmark or vanity address.
    Lmk,
    /// `LOC`: additional location information.
    Loc,
    /// `FLR`: floor.
    Flr,
    /// `NAM`: name (residence, business or office occupant). Some systems put
    /// the ELIN here; see [`crate::elin`].
    Nam,
    /// `PC`: postal code.
    Pc,
    /// `BLD`: building (structure).
    Bld,
    /// `UNIT`: unit (apartment, suite).
    Unit,
    /// `ROOM`: room.
    Room,
    /// `SEAT`: seat (desk, cubicle, workstation).
    Seat,
    /// `PLC`: place type (RFC 4589 token).
    Plc,
    /// `PCN`: postal community name.
    Pcn,
    /// `POBOX`: post office box.
    PoBox,
    /// `ADDCODE`: additional code.
    AddCode,
}

impl CivicElement {
    /// Every element, in the order of RFC 5139 §4's `xs:sequence`.
    pub const ALL: [CivicElement; 31] = [
        Self::Country,
        Self::A1,
        Self::A2,
        Self::A3,
        Self::A4,
        Self::A5,
        Self::A6,
        Self::Prm,
        Self::Prd,
        Self::Rd,
        Self::Sts,
        Self::Pod,
        Self::Pom,
        Self::RdSec,
        Self::RdBr,
        Self::RdSubBr,
        Self::Hno,
        Self::Hns,
        Self::Lmk,
        Self::Loc,
        Self::Flr,
        Self::Nam,
        Self::Pc,
        Self::Bld,
        Self::Unit,
        Self::Room,
        Self::Seat,
        Self::Plc,
        Self::Pcn,
        Self::PoBox,
        Self::AddCode,
    ];

    /// The XML element's local name, as RFC 5139 spells it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Country => "country",
            Self::A1 => "A1",
            Self::A2 => "A2",
            Self::A3 => "A3",
            Self::A4 => "A4",
            Self::A5 => "A5",
            Self::A6 => "A6",
            Self::Prm => "PRM",
            Self::Prd => "PRD",
            Self::Rd => "RD",
            Self::Sts => "STS",
            Self::Pod => "POD",
            Self::Pom => "POM",
            Self::RdSec => "RDSEC",
            Self::RdBr => "RDBR",
            Self::RdSubBr => "RDSUBBR",
            Self::Hno => "HNO",
            Self::Hns => "HNS",
            Self::Lmk => "LMK",
            Self::Loc => "LOC",
            Self::Flr => "FLR",
            Self::Nam => "NAM",
            Self::Pc => "PC",
            Self::Bld => "BLD",
            Self::Unit => "UNIT",
            Self::Room => "ROOM",
            Self::Seat => "SEAT",
            Self::Plc => "PLC",
            Self::Pcn => "PCN",
            Self::PoBox => "POBOX",
            Self::AddCode => "ADDCODE",
        }
    }

    /// The element with this local name. Exact spelling first; then, to be
    /// lenient with hand-made documents, ASCII case-insensitively.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|e| e.name() == name)
            .or_else(|| {
                Self::ALL
                    .iter()
                    .find(|e| e.name().eq_ignore_ascii_case(name))
            })
            .copied()
    }
}

/// An RFC 5139 civic address. Every element is optional.
///
/// Values are stored as given; the PIDF-LO writer collapses whitespace as the
/// schema's `xs:token` type does, and the reader returns collapsed values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CivicAddress {
    /// `xml:lang` of the `civicAddress` element (RFC 5139 §3.3), e.g. `en-US`.
    pub lang: Option<String>,
    /// `country`: ISO 3166-1 alpha-2, e.g. `US`.
    pub country: Option<String>,
    /// `A1`: national subdivision, e.g. a US state.
    pub a1: Option<String>,
    /// `A2`: county or parish.
    pub a2: Option<String>,
    /// `A3`: city or township.
    pub a3: Option<String>,
    /// `A4`: city division, borough or ward.
    pub a4: Option<String>,
    /// `A5`: neighbourhood or block.
    pub a5: Option<String>,
    /// `A6`: group of streets below the neighbourhood level.
    pub a6: Option<String>,
    /// `PRM`: road pre-modifier.
    pub prm: Option<String>,
    /// `PRD`: leading street direction, e.g. `N`.
    pub prd: Option<String>,
    /// `RD`: primary road or street.
    pub rd: Option<String>,
    /// `STS`: street suffix or type, e.g. `Ave`.
    pub sts: Option<String>,
    /// `POD`: trailing street suffix, e.g. `NE`.
    pub pod: Option<String>,
    /// `POM`: road post-modifier.
    pub pom: Option<String>,
    /// `RDSEC`: road section.
    pub rdsec: Option<String>,
    /// `RDBR`: road branch.
    pub rdbr: Option<String>,
    /// `RDSUBBR`: road sub-branch.
    pub rdsubbr: Option<String>,
    /// `HNO`: house number.
    pub hno: Option<String>,
    /// `HNS`: house number suffix, e.g. `A`.
    pub hns: Option<String>,
    /// `LMK`: landmark or vanity address.
    pub lmk: Option<String>,
    /// `LOC`: additional location information.
    pub loc: Option<String>,
    /// `FLR`: floor.
    pub flr: Option<String>,
    /// `NAM`: name of the residence, business or occupant.
    pub nam: Option<String>,
    /// `PC`: postal code.
    pub pc: Option<String>,
    /// `BLD`: building.
    pub bld: Option<String>,
    /// `UNIT`: unit, apartment or suite.
    pub unit: Option<String>,
    /// `ROOM`: room.
    pub room: Option<String>,
    /// `SEAT`: seat, desk, cubicle or workstation.
    pub seat: Option<String>,
    /// `PLC`: place type (RFC 4589), e.g. `office`.
    pub plc: Option<String>,
    /// `PCN`: postal community name.
    pub pcn: Option<String>,
    /// `POBOX`: post office box.
    pub pobox: Option<String>,
    /// `ADDCODE`: additional code.
    pub addcode: Option<String>,
}

impl CivicAddress {
    /// An empty address.
    pub fn new() -> Self {
        Self::default()
    }

    /// The value of one element, if present.
    pub fn get(&self, element: CivicElement) -> Option<&str> {
        self.slot(element).as_deref()
    }

    /// Sets one element (replacing any previous value).
    pub fn set(&mut self, element: CivicElement, value: impl Into<String>) {
        *self.slot_mut(element) = Some(value.into());
    }

    /// Removes one element, returning its value.
    pub fn remove(&mut self, element: CivicElement) -> Option<String> {
        self.slot_mut(element).take()
    }

    /// Builder form of [`CivicAddress::set`].
    #[must_use]
    pub fn with(mut self, element: CivicElement, value: impl Into<String>) -> Self {
        self.set(element, value);
        self
    }

    /// Builder for `xml:lang`.
    #[must_use]
    pub fn with_lang(mut self, lang: impl Into<String>) -> Self {
        self.lang = Some(lang.into());
        self
    }

    /// The present elements, in schema order.
    pub fn elements(&self) -> impl Iterator<Item = (CivicElement, &str)> + '_ {
        CivicElement::ALL
            .into_iter()
            .filter_map(|e| self.get(e).map(|v| (e, v)))
    }

    /// True when no element has a value (`lang` alone does not count).
    pub fn is_empty(&self) -> bool {
        self.elements().next().is_none()
    }

    fn slot(&self, element: CivicElement) -> &Option<String> {
        use CivicElement as E;
        match element {
            E::Country => &self.country,
            E::A1 => &self.a1,
            E::A2 => &self.a2,
            E::A3 => &self.a3,
            E::A4 => &self.a4,
            E::A5 => &self.a5,
            E::A6 => &self.a6,
            E::Prm => &self.prm,
            E::Prd => &self.prd,
            E::Rd => &self.rd,
            E::Sts => &self.sts,
            E::Pod => &self.pod,
            E::Pom => &self.pom,
            E::RdSec => &self.rdsec,
            E::RdBr => &self.rdbr,
            E::RdSubBr => &self.rdsubbr,
            E::Hno => &self.hno,
            E::Hns => &self.hns,
            E::Lmk => &self.lmk,
            E::Loc => &self.loc,
            E::Flr => &self.flr,
            E::Nam => &self.nam,
            E::Pc => &self.pc,
            E::Bld => &self.bld,
            E::Unit => &self.unit,
            E::Room => &self.room,
            E::Seat => &self.seat,
            E::Plc => &self.plc,
            E::Pcn => &self.pcn,
            E::PoBox => &self.pobox,
            E::AddCode => &self.addcode,
        }
    }

    fn slot_mut(&mut self, element: CivicElement) -> &mut Option<String> {
        use CivicElement as E;
        match element {
            E::Country => &mut self.country,
            E::A1 => &mut self.a1,
            E::A2 => &mut self.a2,
            E::A3 => &mut self.a3,
            E::A4 => &mut self.a4,
            E::A5 => &mut self.a5,
            E::A6 => &mut self.a6,
            E::Prm => &mut self.prm,
            E::Prd => &mut self.prd,
            E::Rd => &mut self.rd,
            E::Sts => &mut self.sts,
            E::Pod => &mut self.pod,
            E::Pom => &mut self.pom,
            E::RdSec => &mut self.rdsec,
            E::RdBr => &mut self.rdbr,
            E::RdSubBr => &mut self.rdsubbr,
            E::Hno => &mut self.hno,
            E::Hns => &mut self.hns,
            E::Lmk => &mut self.lmk,
            E::Loc => &mut self.loc,
            E::Flr => &mut self.flr,
            E::Nam => &mut self.nam,
            E::Pc => &mut self.pc,
            E::Bld => &mut self.bld,
            E::Unit => &mut self.unit,
            E::Room => &mut self.room,
            E::Seat => &mut self.seat,
            E::Plc => &mut self.plc,
            E::Pcn => &mut self.pcn,
            E::PoBox => &mut self.pobox,
            E::AddCode => &mut self.addcode,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_element_once_in_schema_order() {
        let names: Vec<&str> = CivicElement::ALL.iter().map(|e| e.name()).collect();
        assert_eq!(names.len(), 31);
        // RFC 5139 §4 puts the road elements before the house number.
        let pos = |n: &str| names.iter().position(|x| *x == n).unwrap();
        assert!(pos("RD") < pos("HNO"));
        assert!(pos("PRM") < pos("PRD"));
        assert_eq!(names.first(), Some(&"country"));
        assert_eq!(names.last(), Some(&"ADDCODE"));
        let mut sorted = CivicElement::ALL.to_vec();
        sorted.sort();
        assert_eq!(
            sorted,
            CivicElement::ALL.to_vec(),
            "derive order = schema order"
        );
    }

    #[test]
    fn from_name_round_trips_every_name_and_tolerates_case() {
        for e in CivicElement::ALL {
            assert_eq!(CivicElement::from_name(e.name()), Some(e));
        }
        assert_eq!(CivicElement::from_name("hno"), Some(CivicElement::Hno));
        assert_eq!(CivicElement::from_name("STREET"), None);
    }

    #[test]
    fn set_and_get_reach_the_named_field() {
        for e in CivicElement::ALL {
            let a = CivicAddress::new().with(e, e.name());
            assert_eq!(a.get(e), Some(e.name()));
            assert_eq!(a.elements().count(), 1);
        }
        let a = CivicAddress::new().with(CivicElement::Flr, "2");
        assert_eq!(a.flr.as_deref(), Some("2"));
    }

    #[test]
    fn elements_come_out_in_schema_order_whatever_the_insertion_order() {
        let a = CivicAddress::new()
            .with(CivicElement::Hno, "10")
            .with(CivicElement::Rd, "Main")
            .with(CivicElement::Country, "US");
        let order: Vec<CivicElement> = a.elements().map(|(e, _)| e).collect();
        assert_eq!(
            order,
            [CivicElement::Country, CivicElement::Rd, CivicElement::Hno]
        );
    }

    #[test]
    fn lang_alone_is_an_empty_address() {
        assert!(CivicAddress::new().with_lang("en").is_empty());
        let mut a = CivicAddress::new().with(CivicElement::A1, "WA");
        assert_eq!(a.remove(CivicElement::A1).as_deref(), Some("WA"));
        assert!(a.is_empty());
    }
}
