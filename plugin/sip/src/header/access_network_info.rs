//! `P-Access-Network-Info` (RFC 7315 §5.4): the access network the UA is on, e.g. the
//! Wi-Fi access point, which the location lookup uses first.
//! <https://www.rfc-editor.org/rfc/rfc7315#section-5.4>

use crate::error::HeaderErrorKind;
use crate::lex::{eq_ic, is_token_str, trim};
use crate::params::Params;

use super::list::{Fail, split_params};

/// One `access-net-spec`: `(access-type / access-class) *(SEMI access-info)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessNetworkInfo<'a> {
    /// `IEEE-802.11`, `3GPP-E-UTRAN-FDD`, `ADSL`, ... as written.
    pub access_type: &'a [u8],
    /// The `access-info` parameters (`i-wlan-node-id`, `utran-cell-id-3gpp`, ...).
    pub params: Params<'a>,
}

impl<'a> AccessNetworkInfo<'a> {
    /// Whether the access type is Wi-Fi (`IEEE-802.11` and its letter variants).
    pub fn is_wlan(&self) -> bool {
        self.access_type
            .split_at_checked(11)
            .is_some_and(|(head, _)| eq_ic(head, b"IEEE-802.11"))
    }

    /// RFC 7315 §5.4 `i-wlan-node-id`: the BSSID of the access point, unquoted as sent
    /// (formats vary: `ffeeddccbbaa`, `ff-ee-dd-cc-bb-aa`).
    pub fn i_wlan_node_id(&self) -> Option<&'a [u8]> {
        self.params.value(b"i-wlan-node-id")
    }

    /// Whether a proxy of the network inserted it (`network-provided`, RFC 7315 §5.4),
    /// rather than the UA.
    pub fn is_network_provided(&self) -> bool {
        self.params.contains(b"network-provided")
    }

    /// Parses one trimmed, non-empty `access-net-spec`.
    pub(crate) fn parse(s: &'a [u8]) -> Result<Self, Fail> {
        let (head, params) = split_params(s)?;
        let access_type = trim(head);
        if !is_token_str(access_type) {
            return Err((HeaderErrorKind::Syntax, 0));
        }
        Ok(Self {
            access_type,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_wlan_node_id() {
        let a = AccessNetworkInfo::parse(b"IEEE-802.11; i-wlan-node-id=00-1D-A2-11-22-33").unwrap();
        assert!(a.is_wlan());
        assert_eq!(a.i_wlan_node_id(), Some(&b"00-1D-A2-11-22-33"[..]));
        assert!(!a.is_network_provided());
        let a = AccessNetworkInfo::parse(
            b"IEEE-802.11n;i-wlan-node-id=\"aabbccddeeff\";network-provided",
        )
        .unwrap();
        assert!(a.is_wlan());
        assert_eq!(a.i_wlan_node_id(), Some(&b"aabbccddeeff"[..]));
        assert!(a.is_network_provided());
    }

    #[test]
    fn keeps_cellular_access_types() {
        let a = AccessNetworkInfo::parse(b"3GPP-E-UTRAN-FDD; utran-cell-id-3gpp=2344200010019A2B")
            .unwrap();
        assert!(!a.is_wlan());
        assert_eq!(a.access_type, b"3GPP-E-UTRAN-FDD");
        assert_eq!(a.i_wlan_node_id(), None);
    }

    #[test]
    fn refuses_malformed_specs() {
        assert!(AccessNetworkInfo::parse(b"; i-wlan-node-id=1").is_err());
        assert!(AccessNetworkInfo::parse(b"IEEE-802.11;").is_err());
        assert!(AccessNetworkInfo::parse(b"IEEE 802.11").is_err());
    }
}
