//! Subnets as LIS exports write them.
//!
//! Lync's `Set-CsLisSubnet -Subnet 10.1.2.0` and Teams' `Set-CsOnlineLisSubnet` store a
//! *subnet ID* with no mask: the client computed it from its own address and mask and sent
//! it. A proxy only sees the caller's address, so it needs the prefix length. In order:
//!
//! 1. CIDR in the cell: `10.1.2.0/23`.
//! 2. A `PrefixLength` (or `MaskLength`) column, which Lync/Teams ignore if re-imported.
//! 3. Inferred from the subnet ID, as the widest prefix that still names it: IPv4 ends
//!    after its last non-zero octet (`10.1.2.0` → /24, `10.2.0.0` → /16), and inside the
//!    fourth octet at its lowest set bit (`10.1.2.128` → /25, `10.1.2.7` → /32); IPv6 ends
//!    after its last non-zero 16-bit group (`2001:db8:1::` → /48).
//!
//! Inference is right for the octet-aligned subnets most sites use; a /23 or /22 needs
//! rule 1 or 2.

use core::net::IpAddr;

/// A subnet as parsed, before it is checked for host bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Subnet {
    pub addr: IpAddr,
    pub len: u8,
}

impl core::fmt::Display for Subnet {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// Parses `cell` (with `length`, the optional prefix-length column's value).
pub(crate) fn parse(cell: &str, length: &str) -> Result<Subnet, String> {
    let cell = cell.trim();
    let (addr_text, len_text) = match cell.split_once('/') {
        Some((addr, len)) => (addr.trim(), Some(len.trim())),
        None => (cell, None),
    };
    let addr: IpAddr = addr_text
        .parse()
        .map_err(|_| format!("`{cell}` is not an IP address or subnet"))?;
    let explicit = match (len_text, length.trim()) {
        (Some(len), _) => Some(len),
        (None, "") => None,
        (None, column) => Some(column),
    };
    let len = match explicit {
        Some(text) => parse_length(text, addr)?,
        None => inferred_length(addr),
    };
    Ok(Subnet { addr, len })
}

fn parse_length(text: &str, addr: IpAddr) -> Result<u8, String> {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    match text.parse::<u8>() {
        Ok(len) if len <= max => Ok(len),
        Ok(len) => Err(format!(
            "prefix length /{len} is longer than the address (/{max})"
        )),
        Err(_) => Err(format!("`{text}` is not a prefix length")),
    }
}

/// The widest prefix that names this subnet ID; see the module comment.
pub(crate) fn inferred_length(addr: IpAddr) -> u8 {
    match addr {
        IpAddr::V4(v4) => {
            let octets = v4.octets();
            match octets.iter().rposition(|&o| o != 0) {
                Some(3) => 32 - trailing_zero_bits(octets[3]),
                Some(i) => 8 * (i as u8 + 1),
                None => 0,
            }
        }
        IpAddr::V6(v6) => {
            let groups = v6.segments();
            groups
                .iter()
                .rposition(|&g| g != 0)
                .map_or(0, |i| 16 * (i as u8 + 1))
        }
    }
}

fn trailing_zero_bits(octet: u8) -> u8 {
    // At most 8, so the narrowing cannot lose anything.
    octet.trailing_zeros().min(8) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(cell: &str, column: &str) -> String {
        parse(cell, column)
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e)
    }

    #[test]
    fn infers_lync_subnet_ids_as_the_widest_prefix_naming_them() {
        assert_eq!(cidr("10.1.2.0", ""), "10.1.2.0/24");
        assert_eq!(cidr("10.2.0.0", ""), "10.2.0.0/16");
        assert_eq!(cidr("10.1.2.128", ""), "10.1.2.128/25");
        assert_eq!(cidr("10.1.2.7", ""), "10.1.2.7/32");
        assert_eq!(cidr("2001:db8:1::", ""), "2001:db8:1::/48");
        assert_eq!(cidr("2001:db8:1:2::", ""), "2001:db8:1:2::/64");
    }

    #[test]
    fn explicit_lengths_win_over_inference() {
        assert_eq!(cidr("10.1.2.0/23", ""), "10.1.2.0/23");
        assert_eq!(cidr("10.1.2.0", "23"), "10.1.2.0/23");
        assert_eq!(cidr(" 10.1.0.0 / 16 ", "24"), "10.1.0.0/16");
    }

    #[test]
    fn rejects_bad_addresses_and_lengths() {
        assert_eq!(
            cidr("10.1.2", ""),
            "`10.1.2` is not an IP address or subnet"
        );
        assert_eq!(
            cidr("10.0.0.0/33", ""),
            "prefix length /33 is longer than the address (/32)"
        );
        assert_eq!(cidr("10.0.0.0", "x"), "`x` is not a prefix length");
    }
}
