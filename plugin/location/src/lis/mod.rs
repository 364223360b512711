//! The Location Information Service's network map: which Emergency Response Location
//! (ERL) a caller is at, from what the network knows about the call.
//!
//! Lync Server 2013's LIS looks a client up by wireless access point (BSSID), then switch
//! port, then switch chassis, then IP subnet, and the first hit wins; [`NetworkMap::locate`]
//! keeps that precedence. Values are ERL indices into the bundle's ERL list.
//!
//! Every table answers without scanning: subnets and BSSIDs are prefix tables (a radix
//! index, then a short binary search; longest prefix wins), chassis and ports are hashed
//! keyed tables. A lookup allocates nothing.

mod index;
mod keyed;
mod mac;
mod prefix;

use core::fmt;
use core::net::IpAddr;

pub use keyed::KeyedTable;
use mac::KeyBuf;
pub use mac::{MacPrefix, canonical_chassis};
pub use prefix::{PrefixEntry, PrefixKey, PrefixTable};

/// The kind of network element a location was found by, in lookup precedence order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ElementKind {
    /// A Wi-Fi access point BSSID (exact or wildcard).
    Bssid,
    /// An LLDP switch chassis plus port.
    Port,
    /// An LLDP switch chassis.
    Chassis,
    /// An IP subnet.
    Subnet,
}

impl ElementKind {
    /// The name used in traces and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Bssid => "bssid",
            Self::Port => "port",
            Self::Chassis => "chassis",
            Self::Subnet => "subnet",
        }
    }
}

impl fmt::Display for ElementKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the network says about a call, as the engine extracted it from trusted sources.
#[derive(Debug, Clone, Copy, Default)]
pub struct NetworkFacts<'a> {
    /// The caller's IP address.
    pub ip: Option<IpAddr>,
    /// The BSSID of the access point the caller is associated with.
    pub bssid: Option<&'a str>,
    /// The LLDP chassis ID of the switch the caller is plugged into.
    pub chassis: Option<&'a str>,
    /// The LLDP port ID on that switch.
    pub port: Option<&'a str>,
}

/// Where a lookup landed: the ERL index and the element that matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElementMatch {
    /// Index of the ERL in the bundle.
    pub erl: u32,
    /// The element kind that matched.
    pub kind: ElementKind,
}

/// Why a network element cannot be added; the bundle validator adds file and line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementError {
    /// Prefix length beyond the address width.
    PrefixTooLong {
        /// The length given.
        len: u8,
        /// The address width (32 or 128).
        max: u8,
    },
    /// The address has bits set past the prefix length (`10.1.2.5/16`): most likely a typo.
    HostBitsSet,
    /// Not a BSSID (`aa-bb-cc-dd-ee-ff`, `:` or no separators, optional trailing `*`).
    BadBssid,
    /// An empty chassis or port ID.
    Empty,
}

impl fmt::Display for ElementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::PrefixTooLong { len, max } => {
                write!(f, "prefix length /{len} is longer than the address (/{max})")
            }
            Self::HostBitsSet => f.write_str("address has bits set past the prefix length"),
            Self::BadBssid => f.write_str(
                "not a BSSID: expected 12 hex digits with -, : or no separators, optionally ending in *",
            ),
            Self::Empty => f.write_str("empty chassis or port ID"),
        }
    }
}

/// Collects network elements, then compiles them into a [`NetworkMap`].
#[derive(Debug, Default)]
pub struct NetworkMapBuilder {
    v4: Vec<PrefixEntry<u32>>,
    v6: Vec<PrefixEntry<u128>>,
    bssids: Vec<PrefixEntry<u64>>,
    chassis: Vec<(Box<str>, u32)>,
    ports: Vec<(Box<str>, u32)>,
}

impl NetworkMapBuilder {
    /// Maps the subnet `addr/len` to an ERL.
    pub fn add_subnet(&mut self, addr: IpAddr, len: u8, erl: u32) -> Result<(), ElementError> {
        match addr {
            IpAddr::V4(v4) => {
                let key = u32::from(v4);
                self.v4.push(prefix_entry(key, len, 32, erl)?);
            }
            IpAddr::V6(v6) => {
                let key = u128::from(v6);
                self.v6.push(prefix_entry(key, len, 128, erl)?);
            }
        }
        Ok(())
    }

    /// Maps a BSSID, or a wildcard BSSID, to an ERL.
    pub fn add_bssid(&mut self, bssid: &str, erl: u32) -> Result<(), ElementError> {
        let prefix = MacPrefix::parse(bssid).ok_or(ElementError::BadBssid)?;
        self.bssids.push(prefix.entry(erl));
        Ok(())
    }

    /// Maps a switch chassis to an ERL.
    pub fn add_chassis(&mut self, chassis: &str, erl: u32) -> Result<(), ElementError> {
        let key = nonempty(canonical_chassis(chassis))?;
        self.chassis.push((key.into_boxed_str(), erl));
        Ok(())
    }

    /// Maps one port of a switch chassis to an ERL.
    pub fn add_port(&mut self, chassis: &str, port: &str, erl: u32) -> Result<(), ElementError> {
        let key = port_key(chassis, port).ok_or(ElementError::Empty)?;
        self.ports.push((key.into_boxed_str(), erl));
        Ok(())
    }

    /// How many elements were added.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len() + self.bssids.len() + self.chassis.len() + self.ports.len()
    }

    /// Whether nothing was added.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Compiles the lookup tables.
    pub fn build(self) -> NetworkMap {
        NetworkMap {
            v4: PrefixTable::build(self.v4),
            v6: PrefixTable::build(self.v6),
            bssids: PrefixTable::build(self.bssids),
            chassis: KeyedTable::build(self.chassis),
            ports: KeyedTable::build(self.ports),
        }
    }
}

/// Compiled network-element tables; see the module comment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkMap {
    v4: PrefixTable<u32>,
    v6: PrefixTable<u128>,
    bssids: PrefixTable<u64>,
    chassis: KeyedTable,
    ports: KeyedTable,
}

impl NetworkMap {
    /// The ERL for these facts, in Lync's precedence: BSSID, port, chassis, subnet.
    pub fn locate(&self, facts: &NetworkFacts<'_>) -> Option<ElementMatch> {
        let found = |kind| move |erl| ElementMatch { erl, kind };
        let bssid = || {
            let key = MacPrefix::parse(facts.bssid?)?.exact()?;
            self.bssids.lookup(key).map(found(ElementKind::Bssid))
        };
        let port = || {
            let mut key = KeyBuf::default();
            push_port_key(&mut key, facts.chassis?, facts.port?)?;
            let erl = self.ports.lookup_bytes(key.as_bytes());
            erl.map(found(ElementKind::Port))
        };
        let chassis = || {
            let mut key = KeyBuf::default();
            key.push_chassis(facts.chassis?);
            let erl = self.chassis.lookup_bytes(key.as_bytes());
            erl.map(found(ElementKind::Chassis))
        };
        let subnet = || self.locate_ip(facts.ip?).map(found(ElementKind::Subnet));
        bssid().or_else(port).or_else(chassis).or_else(subnet)
    }

    /// The ERL of the most specific subnet containing `ip`. An IPv4-mapped IPv6 address
    /// (`::ffff:10.1.2.3`, what a dual-stack socket reports) is looked up as IPv4.
    pub fn locate_ip(&self, ip: IpAddr) -> Option<u32> {
        match ip {
            IpAddr::V4(v4) => self.v4.lookup(u32::from(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => self.v4.lookup(u32::from(v4)),
                None => self.v6.lookup(u128::from(v6)),
            },
        }
    }

    /// Bytes the compiled tables occupy on the heap.
    pub fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes()
            + self.v6.heap_bytes()
            + self.bssids.heap_bytes()
            + self.chassis.heap_bytes()
            + self.ports.heap_bytes()
    }

    /// The compiled tables, for serialization into a bundle.
    pub fn tables(&self) -> NetworkTables<'_> {
        NetworkTables {
            v4: &self.v4,
            v6: &self.v6,
            bssids: &self.bssids,
            chassis: &self.chassis,
            ports: &self.ports,
        }
    }

    /// Reassembles a map from deserialized tables.
    pub fn from_tables(
        v4: PrefixTable<u32>,
        v6: PrefixTable<u128>,
        bssids: PrefixTable<u64>,
        chassis: KeyedTable,
        ports: KeyedTable,
    ) -> Self {
        Self {
            v4,
            v6,
            bssids,
            chassis,
            ports,
        }
    }
}

/// Borrowed view of a [`NetworkMap`]'s tables.
#[derive(Debug, Clone, Copy)]
pub struct NetworkTables<'a> {
    /// IPv4 subnets.
    pub v4: &'a PrefixTable<u32>,
    /// IPv6 subnets.
    pub v6: &'a PrefixTable<u128>,
    /// BSSIDs and wildcard BSSIDs.
    pub bssids: &'a PrefixTable<u64>,
    /// Chassis IDs, canonical.
    pub chassis: &'a KeyedTable,
    /// Chassis + port keys.
    pub ports: &'a KeyedTable,
}

fn prefix_entry<K: PrefixKey>(
    addr: K,
    len: u8,
    bits: u8,
    value: u32,
) -> Result<PrefixEntry<K>, ElementError> {
    let too_long = ElementError::PrefixTooLong { len, max: bits };
    let (first, last) = addr.prefix_range(u32::from(len)).ok_or(too_long)?;
    if first != addr {
        return Err(ElementError::HostBitsSet);
    }
    Ok(PrefixEntry { first, last, value })
}

/// Ports are named per chassis; the key joins the canonical chassis and the port ID,
/// compared without case (`Gi1/0/7` and `gi1/0/7` are one port).
fn port_key(chassis: &str, port: &str) -> Option<String> {
    let mut key = KeyBuf::default();
    push_port_key(&mut key, chassis, port)?;
    Some(key.into_string())
}

/// Writes [`port_key`] into `key` (empty to begin with); `None` if either part is empty.
fn push_port_key(key: &mut KeyBuf, chassis: &str, port: &str) -> Option<()> {
    key.push_chassis(chassis);
    let port = port.trim();
    if key.is_empty() || port.is_empty() {
        return None;
    }
    // U+001F (unit separator) cannot appear in either part as LIS exports write them.
    key.push_lower(b"\x1f");
    key.push_lower(port.as_bytes());
    Some(())
}

fn nonempty(text: String) -> Result<String, ElementError> {
    if text.is_empty() {
        Err(ElementError::Empty)
    } else {
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contoso() -> NetworkMap {
        // The seed's Redmond HQ: f1 = 0, f2 = 1; Wichita = 2.
        let mut map = NetworkMapBuilder::default();
        map.add_subnet("10.1.0.0".parse().unwrap(), 16, 0).unwrap();
        map.add_subnet("10.1.2.0".parse().unwrap(), 24, 1).unwrap();
        map.add_subnet("10.2.0.0".parse().unwrap(), 16, 2).unwrap();
        map.add_subnet("2001:db8:1::".parse().unwrap(), 48, 0)
            .unwrap();
        map.add_bssid("00-11-22-33-44-55", 1).unwrap();
        map.add_bssid("00-11-22-33-44-6*", 0).unwrap();
        map.add_chassis("00-aa-bb-cc-dd-ee", 0).unwrap();
        map.add_port("00-aa-bb-cc-dd-ee", "Gi1/0/7", 1).unwrap();
        map.build()
    }

    fn facts<'a>(
        ip: &str,
        bssid: Option<&'a str>,
        chassis: Option<&'a str>,
        port: Option<&'a str>,
    ) -> NetworkFacts<'a> {
        NetworkFacts {
            ip: ip.parse().ok(),
            bssid,
            chassis,
            port,
        }
    }

    #[test]
    fn follows_lync_precedence_bssid_port_chassis_subnet() {
        let map = contoso();
        let hit = |f| map.locate(&f).map(|m| (m.erl, m.kind));
        let ip = "10.2.0.9"; // a Wichita subnet: every element below beats it
        assert_eq!(
            hit(facts(
                ip,
                Some("001122334455"),
                Some("00aabbccddee"),
                Some("gi1/0/7")
            )),
            Some((1, ElementKind::Bssid))
        );
        assert_eq!(
            hit(facts(
                ip,
                Some("ff-ff-ff-ff-ff-ff"),
                Some("00:AA:BB:CC:DD:EE"),
                Some("GI1/0/7")
            )),
            Some((1, ElementKind::Port))
        );
        assert_eq!(
            hit(facts(ip, None, Some("00-aa-bb-cc-dd-ee"), Some("Gi1/0/8"))),
            Some((0, ElementKind::Chassis))
        );
        assert_eq!(
            hit(facts(ip, None, None, None)),
            Some((2, ElementKind::Subnet))
        );
        assert_eq!(hit(facts("192.0.2.1", None, None, None)), None);
    }

    #[test]
    fn wildcard_bssid_covers_its_radios() {
        let map = contoso();
        let f = facts("", Some("00:11:22:33:44:6b"), None, None);
        assert_eq!(map.locate(&f).map(|m| m.erl), Some(0));
    }

    #[test]
    fn subnets_match_longest_prefix_in_both_families() {
        let map = contoso();
        assert_eq!(map.locate_ip("10.1.2.200".parse().unwrap()), Some(1));
        assert_eq!(map.locate_ip("10.1.3.1".parse().unwrap()), Some(0));
        assert_eq!(map.locate_ip("::ffff:10.1.2.3".parse().unwrap()), Some(1));
        assert_eq!(map.locate_ip("2001:db8:1:ff::1".parse().unwrap()), Some(0));
        assert_eq!(map.locate_ip("2001:db8:2::1".parse().unwrap()), None);
    }

    #[test]
    fn port_keys_join_canonical_chassis_and_lower_cased_port() {
        let cases = [
            ("00-AA-BB-CC-DD-EE", " Gi1/0/7 "),
            ("Core-SW-1", "TE1/1"),
            (" ", "Gi1"),
            ("sw", " "),
            ("Ünïcode", "PÖRT-A"),
        ];
        for (chassis, port) in cases {
            let chassis_key = canonical_chassis(chassis);
            let port = port.trim();
            let expected = (!chassis_key.is_empty() && !port.is_empty())
                .then(|| format!("{chassis_key}\u{1f}{}", port.to_ascii_lowercase()));
            assert_eq!(port_key(chassis, port), expected, "{chassis:?} {port:?}");
        }
        let long = "x".repeat(200);
        let mut map = NetworkMapBuilder::default();
        map.add_port(&long, "P1", 3).unwrap();
        map.add_chassis(&long.to_uppercase(), 4).unwrap();
        let map = map.build();
        let f = facts("", None, Some(&long), Some("p1"));
        assert_eq!(
            map.locate(&f).map(|m| (m.erl, m.kind)),
            Some((3, ElementKind::Port))
        );
        let f = facts("", None, Some(&long), Some("p2"));
        assert_eq!(
            map.locate(&f).map(|m| (m.erl, m.kind)),
            Some((4, ElementKind::Chassis))
        );
    }

    #[test]
    fn rejects_bad_elements_with_a_reason() {
        let mut map = NetworkMapBuilder::default();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            map.add_subnet(ip("10.1.2.5"), 16, 0),
            Err(ElementError::HostBitsSet)
        );
        assert_eq!(
            map.add_subnet(ip("10.0.0.0"), 33, 0),
            Err(ElementError::PrefixTooLong { len: 33, max: 32 })
        );
        assert_eq!(map.add_bssid("00-11-22", 0), Err(ElementError::BadBssid));
        assert_eq!(map.add_chassis("  ", 0), Err(ElementError::Empty));
        assert_eq!(
            map.add_port("00-aa-bb-cc-dd-ee", " ", 0),
            Err(ElementError::Empty)
        );
        assert!(map.is_empty());
    }
}
