//! RFC 7852 additional data blocks, sent by value beside the PIDF-LO: who provides the
//! call (`ProviderInfo`, §4.1), what service the caller has (`ServiceInfo`, §4.2) and
//! what device they call from (`DeviceInfo`, §4.3).
//!
//! Each document is written in its schema's element order (RFC 7852 §6) with the same
//! writer as the PIDF-LO, so values are escaped and tokens collapsed the same way. The
//! caller checks registry values (the policy does, when the bundle is compiled).

use crate::pidf::write::Doc;

/// RFC 7852 §6.1's namespace for `ProviderInfo`.
pub const PROVIDER_INFO_NS: &str = "urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo";
/// RFC 7852 §6.2's namespace for `ServiceInfo`.
pub const SERVICE_INFO_NS: &str = "urn:ietf:params:xml:ns:EmergencyCallData:ServiceInfo";
/// RFC 7852 §6.3's namespace for `DeviceInfo`.
pub const DEVICE_INFO_NS: &str = "urn:ietf:params:xml:ns:EmergencyCallData:DeviceInfo";

/// §4.1: the organisation that provides the call to the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderInfo<'a> {
    /// `DataProviderReference`: unique to this block of this call.
    pub reference: &'a str,
    /// `DataProviderString`: the name a call taker reads.
    pub name: &'a str,
    /// `ProviderID`.
    pub id: &'a str,
    /// `ProviderIDSeries`: who issued the id.
    pub id_series: &'a str,
    /// `TypeOfProvider`.
    pub kind: &'a str,
    /// `ContactURI`: a `tel:` or `sip:` URI.
    pub contact: &'a str,
    /// `Language` tags.
    pub languages: &'a [String],
}

/// §4.2: the caller's service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceInfo<'a> {
    /// `DataProviderReference`.
    pub reference: &'a str,
    /// `ServiceEnvironment`: `Business`, `Residence`, `Unknown`.
    pub environment: &'a str,
    /// `ServiceType` tokens.
    pub types: &'a [String],
    /// `ServiceMobility`.
    pub mobility: &'a str,
}

/// §4.3: the caller's device, as far as the request tells.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceInfo<'a> {
    /// `DataProviderReference`.
    pub reference: &'a str,
    /// `DeviceModelNr`: what the device calls itself (its `User-Agent` product).
    pub model: Option<&'a str>,
    /// `UniqueDeviceID` values with their `TypeOfDeviceID` (`IMEI`, `MAC`, …).
    pub ids: &'a [(&'a str, &'a str)],
}

/// Writes `ProviderInfo` (§6.1's order).
pub fn write_provider_info(info: &ProviderInfo<'_>) -> String {
    let mut doc = begin("EmergencyCallData.ProviderInfo", PROVIDER_INFO_NS);
    doc.token("DataProviderReference", info.reference);
    doc.leaf("DataProviderString", info.name);
    doc.token("ProviderID", info.id);
    doc.token("ProviderIDSeries", info.id_series);
    doc.token("TypeOfProvider", info.kind);
    doc.token("ContactURI", info.contact);
    for language in info.languages {
        doc.token("Language", language);
    }
    finish(doc, "EmergencyCallData.ProviderInfo")
}

/// Writes `ServiceInfo` (§6.2's order).
pub fn write_service_info(info: &ServiceInfo<'_>) -> String {
    let mut doc = begin("EmergencyCallData.ServiceInfo", SERVICE_INFO_NS);
    doc.token("DataProviderReference", info.reference);
    doc.token("ServiceEnvironment", info.environment);
    for service_type in info.types {
        doc.token("ServiceType", service_type);
    }
    doc.token("ServiceMobility", info.mobility);
    finish(doc, "EmergencyCallData.ServiceInfo")
}

/// Writes `DeviceInfo` (§6.3's order).
pub fn write_device_info(info: &DeviceInfo<'_>) -> String {
    let mut doc = begin("EmergencyCallData.DeviceInfo", DEVICE_INFO_NS);
    doc.token("DataProviderReference", info.reference);
    if let Some(model) = info.model {
        doc.token("DeviceModelNr", model);
    }
    for (kind, id) in info.ids {
        doc.open("UniqueDeviceID");
        doc.attr("TypeOfDeviceID", kind);
        doc.close_open();
        doc.text(id);
        doc.end("UniqueDeviceID");
    }
    finish(doc, "EmergencyCallData.DeviceInfo")
}

fn begin(root: &str, namespace: &'static str) -> Doc {
    let mut doc = Doc::with_capacity(512);
    doc.raw(r#"<?xml version="1.0" encoding="UTF-8"?>"#);
    doc.open(root);
    doc.constant_attr("xmlns", namespace);
    doc.close_open();
    doc
}

fn finish(mut doc: Doc, root: &str) -> String {
    doc.end(root);
    doc.raw("\n");
    doc.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_info_is_written_in_schema_order_and_escaped() {
        let languages = ["en".to_owned()];
        let xml = write_provider_info(&ProviderInfo {
            reference: "a1@edge",
            name: "Contoso & Sons",
            id: "contoso.com",
            id_series: "domain",
            kind: "Other",
            contact: "tel:+14255550100",
            languages: &languages,
        });
        let order = [
            "<EmergencyCallData.ProviderInfo xmlns=\"urn:ietf:params:xml:ns:EmergencyCallData:ProviderInfo\">",
            "<DataProviderReference>a1@edge</DataProviderReference>",
            "<DataProviderString>Contoso &amp; Sons</DataProviderString>",
            "<ProviderID>contoso.com</ProviderID>",
            "<ProviderIDSeries>domain</ProviderIDSeries>",
            "<TypeOfProvider>Other</TypeOfProvider>",
            "<ContactURI>tel:+14255550100</ContactURI>",
            "<Language>en</Language>",
            "</EmergencyCallData.ProviderInfo>",
        ];
        let mut at = 0;
        for piece in order {
            let found = xml[at..]
                .find(piece)
                .unwrap_or_else(|| panic!("{piece} in {xml}"));
            at += found + piece.len();
        }
    }

    #[test]
    fn device_info_without_a_model_has_only_what_is_known() {
        let xml = write_device_info(&DeviceInfo {
            reference: "d@edge",
            model: None,
            ids: &[("IMEI", "490154203237518")],
        });
        assert!(!xml.contains("DeviceModelNr"), "{xml}");
        assert!(
            xml.contains(
                "<UniqueDeviceID TypeOfDeviceID=\"IMEI\">490154203237518</UniqueDeviceID>"
            ),
            "{xml}"
        );
    }
}
