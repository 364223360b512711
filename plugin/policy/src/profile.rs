//! What one provider accepts beyond a bare PIDF-LO: a sip-trunk's provider profile
//! (`[trunks.<id>.profile]` in `routes.toml`), and the tenant's own identity as a data
//! provider (`[provider]` in `bundle.toml`, RFC 7852 §4.1).
//!
//! The default profile adds nothing, so a trunk without one receives what it always did.

use serde::{Deserialize, Serialize};

/// What a sip-trunk's provider receives with an emergency call, beyond the PIDF-LO.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderProfile {
    /// Lync/Skype for Business `msftE911PidfExtn` in the PIDF-LO: the security desk's
    /// notification URI, the conference URI and mode, the location policy's tag.
    pub msft_extension: bool,
    /// RFC 7852 additional data blocks sent by value, in this order.
    pub additional_data: Vec<AdditionalData>,
    /// NENA i3 call and incident identifiers in `Call-Info` (`urn:emergency:uid:…`).
    pub call_identifiers: bool,
    /// `Resource-Priority: esnet.<n>` (RFC 7135), `n` from 0 to 4.
    pub resource_priority: Option<u8>,
    /// `loc-src` on the `Geolocation` we insert (RFC 8787): the location source's
    /// hostname.
    pub loc_src: Option<String>,
    /// Where the location goes in the PIDF document.
    pub placement: PidfPlacement,
    /// Whether the device is named (`dm:deviceID`, from the caller's `+sip.instance`)
    /// when the request carries one.
    pub device_id: bool,
}

/// One RFC 7852 additional data block (§4.1–§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdditionalData {
    /// `EmergencyCallData.ProviderInfo`: who we are (from `[provider]`).
    ProviderInfo,
    /// `EmergencyCallData.ServiceInfo`: the kind of service the caller has.
    ServiceInfo,
    /// `EmergencyCallData.DeviceInfo`: the caller's device, from `User-Agent` and
    /// `+sip.instance`.
    DeviceInfo,
}

impl AdditionalData {
    /// The names used in sources: `provider-info`, `service-info`, `device-info`.
    pub(crate) const NAMES: [(&'static str, Self); 3] = [
        ("provider-info", Self::ProviderInfo),
        ("service-info", Self::ServiceInfo),
        ("device-info", Self::DeviceInfo),
    ];

    /// The block's name after `EmergencyCallData.` (RFC 7852 §11.1.9).
    pub fn block(self) -> &'static str {
        match self {
            Self::ProviderInfo => "ProviderInfo",
            Self::ServiceInfo => "ServiceInfo",
            Self::DeviceInfo => "DeviceInfo",
        }
    }
}

/// Where the location sits in the PIDF document (RFC 4479 §3, RFC 5491 §3.4).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum PidfPlacement {
    /// PIDF `tuple`: what Lync sends and Lync-style providers read (the default).
    #[default]
    Tuple,
    /// `dm:device` (RFC 5491 §3.4's first choice); needs a device id, else a tuple.
    Device,
    /// `dm:person`.
    Person,
}

impl PidfPlacement {
    /// The names used in sources.
    pub(crate) const NAMES: [(&'static str, Self); 3] = [
        ("tuple", Self::Tuple),
        ("device", Self::Device),
        ("person", Self::Person),
    ];
}

/// The tenant as a data provider (RFC 7852 §4.1 `ProviderInfo`), from `bundle.toml`'s
/// `[provider]`, and the service it gives its callers (§4.2 `ServiceInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderInfo {
    /// `DataProviderString`: the organisation's name, as a call taker reads it.
    pub name: String,
    /// `ProviderID`: the identifier the registrar in `id_series` gave the tenant.
    pub id: String,
    /// `ProviderIDSeries`: who issued `id` (`NENA`, `EENA`, `domain`).
    pub id_series: String,
    /// `TypeOfProvider` (RFC 7852 §11.1.3's registry).
    pub kind: String,
    /// `ContactURI`: how the PSAP reaches the tenant's emergency contact (`tel:` or
    /// `sip:`).
    pub contact: String,
    /// `Language` (RFC 5646 tags) the contact speaks.
    pub languages: Vec<String>,
    /// `ServiceEnvironment`: `Business` for an enterprise.
    pub service_environment: String,
    /// `ServiceType` tokens (RFC 7852 §11.1.6's registry): `MLTS-hosted`, `MLTS-local`.
    pub service_types: Vec<String>,
    /// `ServiceMobility` (§11.1.7): `Fixed`, `Nomadic`, `Mobile`, `Unknown`.
    pub service_mobility: String,
}
