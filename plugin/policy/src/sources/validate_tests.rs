//! One test per kind of problem: the contoso bundle with one thing broken, and the exact
//! `file:line: message` a reviewer would see.

use crate::Sources;
use crate::testdata::CONTOSO;

/// The contoso sources with text edits `(file, from, to)`, each checked to apply.
fn edited(edits: &[(&str, &str, &str)]) -> Sources {
    let mut files: Vec<(&str, String)> =
        CONTOSO.iter().map(|(n, t)| (*n, (*t).to_owned())).collect();
    for (file, from, to) in edits {
        let text = files
            .iter_mut()
            .find(|(n, _)| n == file)
            .map(|(_, t)| t)
            .unwrap();
        assert!(text.contains(from), "{from:?} not in {file}");
        *text = text.replace(from, to);
    }
    Sources::from_files(files)
}

fn problems(file: &str, from: &str, to: &str) -> Vec<String> {
    edited(&[(file, from, to)])
        .validate()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn contoso_has_no_problems() {
    assert_eq!(problems("bundle.toml", "", ""), Vec::<String>::new());
}

#[test]
fn reports_an_unknown_erl_reference() {
    assert_eq!(
        problems(
            "wireless.csv",
            "44-55,redmond-b40-f2",
            "44-55,redmond-b41-f2"
        ),
        ["wireless.csv:2: unknown ERL `redmond-b41-f2`"]
    );
}

#[test]
fn reports_a_duplicate_subnet_in_another_spelling() {
    let row = "\"10.1.2.0/24\",\"dup\",\"Building 40, Floor 2\",\"Contoso\",\"1\",\"\",\"\",\"Microsoft\",\"Way\",\"\",\"Redmond\",\"WA\",\"98052\",\"US\"\r\n";
    let broken = problems(
        "subnets.csv",
        "\"2001:db8:1::\"",
        &format!("{row}\"2001:db8:1::\""),
    );
    assert_eq!(
        broken,
        ["subnets.csv:5: duplicate subnet 10.1.2.0/24 (first at line 4)"]
    );
}

#[test]
fn reports_host_bits_and_too_long_prefixes() {
    assert_eq!(
        problems(
            "sites.toml",
            "[\"10.2.0.0/16\"]",
            "[\"10.2.0.1/16\", \"10.3.0.0/33\"]"
        ),
        [
            "sites.toml:6: bad subnet 10.2.0.1/16: address has bits set past the prefix length",
            "sites.toml:6: prefix length /33 is longer than the address (/32)",
        ]
    );
}

#[test]
fn reports_bad_and_duplicate_bssids() {
    assert_eq!(
        problems("wireless.csv", "00-11-22-33-44-6*", "00-11-22-33-44-5G"),
        [
            "wireless.csv:3: bad BSSID `00-11-22-33-44-5G`: expected 12 hex digits with -, : or no separators, optionally ending in *"
        ]
    );
    assert_eq!(
        problems("wireless.csv", "00-11-22-33-44-6*", "00:11:22:33:44:55"),
        ["wireless.csv:3: duplicate BSSID 00:11:22:33:44:55 (first at line 2)"]
    );
}

#[test]
fn reports_a_route_to_an_unknown_trunk() {
    assert_eq!(
        problems(
            "routes.toml",
            "[\"esp-primary\", \"esp-secondary\"]",
            "[\"esp-primary\", \"esp-tertiary\"]"
        ),
        ["routes.toml:27: route `redmond-esp` names unknown trunk `esp-tertiary`"]
    );
}

#[test]
fn reports_an_unknown_trunk_kind() {
    assert_eq!(
        problems("routes.toml", "kind = \"elin-gateway\"", "kind = \"elin\""),
        [
            "routes.toml:23: unknown trunk kind `elin`: expected sip-trunk, elin-gateway or local-gateway",
            "routes.toml:38: route `wichita-elin` names unknown trunk `wichita-gw`",
        ]
    );
}

#[test]
fn reports_a_policy_without_a_route() {
    assert_eq!(
        problems("policies.toml", "route = \"wichita-elin\"\n", ""),
        [
            "policies.toml:23: policy `wichita` has no route for 911 (`route`, Lync's PstnUsage, or the number's own `route`)"
        ]
    );
}

#[test]
fn reports_unknown_usages_and_notification_targets() {
    assert_eq!(
        problems(
            "policies.toml",
            "route = \"wichita-elin\"\nnotifications = [\"wichita-security\"]",
            "route = \"wichita-pstn\"\nnotifications = [\"wichita-desk\"]"
        ),
        [
            "policies.toml:25: unknown route `wichita-pstn` (no such route in routes.toml)",
            "policies.toml:26: unknown notification target `wichita-desk`",
        ]
    );
}

#[test]
fn reports_an_elin_gateway_site_covering_an_erl_without_elins() {
    let sources = edited(&[
        ("erls.csv", "+13165550100;+13165550101", ""),
        ("subnets.csv", ";+13165550100;+13165550101", ""),
    ]);
    let found: Vec<String> = sources.validate().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "subnets.csv:6: ERL `wichita-f1` has no ELINs, but site `wichita` (sites.toml:4) routes its calls through ELIN gateway `wichita-gw`"
        ]
    );
}

#[test]
fn reports_elins_that_are_not_e164() {
    assert_eq!(
        problems(
            "erls.csv",
            "+13165550100;+13165550101",
            "+13165550100;3165550101"
        ),
        ["erls.csv:5: bad ELIN `3165550101`: expected E.164 (`+` and up to 15 digits)"]
    );
}

#[test]
fn reports_an_unknown_location_combine_mode() {
    assert_eq!(
        problems(
            "policies.toml",
            "location_combine = \"network-only\"",
            "location_combine = \"network-first\""
        ),
        [
            "policies.toml:35: unknown location-combine mode `network-first`: expected prefer-network, prefer-client, network-only, client-only"
        ]
    );
}

#[test]
fn reports_toml_syntax_errors_with_their_line() {
    let found = problems(
        "routes.toml",
        "[routes.redmond-ps-ali]",
        "[routes.redmond-ps-ali",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("routes.toml:34: "), "{found:?}");
}

#[test]
fn reports_unknown_keys_so_typos_are_not_ignored() {
    let found = problems(
        "policies.toml",
        "test_numbers = [\"933\"]",
        "test_number = [\"933\"]",
    );
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0], "policies.toml:7: unknown field `test_number`");
}

#[test]
fn reports_a_missing_csv_column_on_line_1() {
    assert_eq!(
        problems("ports.csv", "chassisid,portid", "chassis,portid"),
        ["ports.csv:1: missing column `ChassisID`"]
    );
}

#[test]
fn reports_unknown_policies_and_erls_in_assignments() {
    assert_eq!(
        problems(
            "callers.toml",
            "location = \"redmond-b40-lobby\"",
            "location = \"redmond-lobby\""
        ),
        ["callers.toml:6: unknown ERL `redmond-lobby`"]
    );
    assert_eq!(
        problems(
            "bundle.toml",
            "global_policy = \"redmond\"",
            "global_policy = \"global\""
        ),
        ["bundle.toml:6: unknown location policy `global` (no such policy in policies.toml)"]
    );
}

#[test]
fn reports_duplicate_erl_ids() {
    assert_eq!(
        problems(
            "erls.csv",
            "redmond-b40-f2,\"Redmond",
            "redmond-b40-f1,\"Redmond"
        ),
        [
            "erls.csv:3: duplicate ERL id `redmond-b40-f1` (first defined at erls.csv:2)",
            "ports.csv:2: unknown ERL `redmond-b40-f2`",
            "wireless.csv:2: unknown ERL `redmond-b40-f2`",
        ]
    );
}

#[test]
fn reports_an_erl_row_without_an_id() {
    assert_eq!(
        problems("erls.csv", "wichita-f1,", ","),
        ["erls.csv:5: no ERL id"]
    );
}

#[test]
fn reports_a_missing_bundle_toml() {
    let sources = Sources::from_files(CONTOSO.iter().filter(|(n, _)| *n != "bundle.toml").copied());
    let found: Vec<String> = sources.validate().iter().map(ToString::to_string).collect();
    assert_eq!(
        found,
        [
            "bundle.toml:0: missing: every bundle needs bundle.toml (tenant, revision, global_policy)"
        ]
    );
}

#[test]
fn reports_many_kinds_at_once_sorted_by_file_and_line() {
    let sources = edited(&[
        ("wireless.csv", "44-55,redmond-b40-f2", "44-55,nowhere"),
        ("ports.csv", "chassisid,portid", "chassis,portid"),
        ("routes.toml", "\"esp-secondary\"]", "\"esp-tertiary\"]"),
        (
            "policies.toml",
            "location_combine = \"network-only\"",
            "location_combine = \"sometimes\"",
        ),
        ("erls.csv", "+13165550101", "3165550101"),
        ("sites.toml", "10.2.0.0/16", "10.2.0.0/14"),
    ]);
    let found: Vec<String> = sources
        .validate()
        .iter()
        .map(|p| format!("{}:{}", p.file, p.line))
        .collect();
    assert_eq!(
        found,
        [
            "erls.csv:5",
            "policies.toml:35",
            "ports.csv:1",
            "routes.toml:27",
            "sites.toml:6",
            "wireless.csv:2"
        ]
    );
}

/// The last line of contoso's `policies.toml`: what follows it is a new table.
const LAST: &str =
    "location_combine = \"network-only\"  # analog phones send no location of their own";

#[test]
fn explains_how_to_rewrite_a_trunk_target_that_names_a_number() {
    assert_eq!(
        problems(
            "routes.toml",
            "target = \"sip:esp.example.net;transport=tcp\"",
            "target = \"sip:911@esp.example.net;transport=tcp\"",
        ),
        [
            "routes.toml:8: trunk `esp-primary` target `sip:911@esp.example.net;transport=tcp` \
          names a number (911), but a trunk now names only where calls go: write `target = \
          \"sip:esp.example.net;transport=tcp\"`. The provider receives what the caller dialled \
          (911, also for a dial mask such as 112; 933 for a test call) or the route's `dial` \
          (the ECRC's number)"
        ]
    );
}

#[test]
fn refuses_a_gateway_that_would_keep_service_urns() {
    assert_eq!(
        problems(
            "routes.toml",
            "kind = \"elin-gateway\"",
            "kind = \"elin-gateway\"\nservice_urns = \"keep\"",
        ),
        [
            "routes.toml:24: a elin-gateway cannot send a service URN to the PSTN: \
          `service_urns` must be `dial-string`"
        ]
    );
}

#[test]
fn reports_a_number_that_means_two_things() {
    assert_eq!(
        problems(
            "policies.toml",
            "test_numbers = [\"933\"]",
            "test_numbers = [\"933\", \"112\"]",
        ),
        ["policies.toml:7: `112` already has a meaning in this policy (at policies.toml:6)"]
    );
    let twice = format!(
        "{LAST}\n[[policies.wichita.emergency_numbers]]\ndial_string = \"911\"\nroute = \"redmond-ps-ali\"\n"
    );
    assert_eq!(
        problems("policies.toml", LAST, &twice),
        ["policies.toml:37: `911` already has a meaning in this policy (at policies.toml:5)"]
    );
}

#[test]
fn reports_an_emergency_number_with_an_unknown_route_or_no_dial_string() {
    let numbers =
        format!("{LAST}\n[[policies.wichita.emergency_numbers]]\ndial_masks = [\"000\"]\n");
    assert_eq!(
        problems("policies.toml", LAST, &numbers),
        ["policies.toml:36: missing field `dial_string`"]
    );
    let numbers = format!(
        "{LAST}\n[[policies.wichita.emergency_numbers]]\nDialString = \"1 12\"\nOnlinePSTNUsage = \"nowhere\"\n"
    );
    assert_eq!(
        problems("policies.toml", LAST, &numbers),
        [
            "policies.toml:37: `1 12` is not a dial string (digits, * and # only)",
            "policies.toml:38: unknown route `nowhere` (no such route in routes.toml)",
        ]
    );
}

#[test]
fn warns_when_no_carriers_are_named_for_callbacks_to_our_elins() {
    let named = edited(&[]).check();
    assert_eq!((named.problems.len(), named.warnings.len()), (0, 0));
    let none = edited(&[("bundle.toml", "carriers = [\"203.0.113.0/24\"]", "")]).check();
    assert!(none.problems.is_empty());
    let warnings: Vec<String> = none.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("bundle.toml:13: [trust] names no `carriers`"),
        "{warnings:?}"
    );
}

/// `[trunks.esp-primary]` with a profile table written after its `kind`.
fn profile(lines: &str) -> Vec<String> {
    problems(
        "routes.toml",
        "kind = \"sip-trunk\"\ntarget = \"sip:esp.example.net;transport=tcp\"",
        &format!(
            "kind = \"sip-trunk\"\ntarget = \"sip:esp.example.net;transport=tcp\"\n\
             [trunks.esp-primary.profile]\n{lines}"
        ),
    )
}

#[test]
fn a_provider_profile_with_every_option_is_accepted() {
    assert_eq!(
        problems(
            "bundle.toml",
            "[import]",
            "[provider]\nname = \"Contoso\"\nid = \"contoso.com\"\nid_series = \"domain\"\n\
             type = \"service provider\"\ncontact = \"tel:+14255550100\"\n[import]",
        ),
        Vec::<String>::new()
    );
    assert_eq!(
        profile(
            "msft_e911_extension = true\nadditional_data = \"device-info\"\n\
             call_identifiers = true\nresource_priority = \"esnet.1\"\n\
             loc_src = \"lis.contoso.com\"\npidf_placement = \"tuple\"\ndevice_id = true"
        ),
        Vec::<String>::new()
    );
}

#[test]
fn reports_each_bad_profile_value_on_its_line() {
    assert_eq!(
        profile(
            "additional_data = [\"provider-info\", \"caller-info\"]\n\
             resource_priority = \"esnet.9\"\nloc_src = \"lis contoso\"\n\
             pidf_placement = \"device\"\nmsft_e911_extension = true\nbogus = 1"
        ),
        ["routes.toml:15: unknown field `bogus`"]
    );
    assert_eq!(
        profile(
            "additional_data = [\"provider-info\", \"caller-info\"]\n\
             resource_priority = \"esnet.9\"\nloc_src = \"lis contoso\"\n\
             pidf_placement = \"device\"\nmsft_e911_extension = true"
        ),
        [
            "routes.toml:10: additional_data `provider-info` is written from bundle.toml's \
             [provider] (name, id, id_series, type, contact), which is missing",
            "routes.toml:10: unknown additional_data `caller-info`: expected provider-info, \
             service-info or device-info",
            "routes.toml:11: resource_priority `esnet.9`: expected esnet.0 to esnet.4 \
             (RFC 7135's emergency namespace)",
            "routes.toml:12: loc_src `lis contoso` is not a hostname (RFC 8787: the location \
             source's domain, e.g. `lis.contoso.com`)",
            "routes.toml:13: msft_e911_extension goes in the PIDF tuple's status \
             ([MS-SIPRE] §2.2.23): pidf_placement must be `tuple`",
        ]
    );
}

#[test]
fn refuses_a_profile_on_a_gateway() {
    assert_eq!(
        problems(
            "routes.toml",
            "kind = \"elin-gateway\"",
            "kind = \"elin-gateway\"\nprofile = { call_identifiers = true }",
        ),
        [
            "routes.toml:24: a elin-gateway takes the call over the PSTN: a provider profile \
             applies to sip-trunks only"
        ]
    );
}

#[test]
fn reports_a_provider_value_outside_rfc_7852s_registry() {
    assert_eq!(
        problems(
            "bundle.toml",
            "[import]",
            "[provider]\nname = \"Contoso\"\nid = \"contoso.com\"\nid_series = \"ETSI\"\n\
             type = \"Enterprise\"\ncontact = \"mailto:security@contoso.com\"\n[import]",
        ),
        [
            "bundle.toml:23: [provider] id_series `ETSI` is not in RFC 7852's registry: \
             expected one of NENA, EENA, domain",
            "bundle.toml:24: [provider] type `Enterprise` is not in RFC 7852's registry: \
             expected one of Access Network Provider, Service Provider, Service Provider \
             Subcontractor, Telematics Provider, Language Translation Provider, Emergency \
             Service Provider, Emergency Modality Translation, Relay Provider, Other",
            "bundle.toml:25: [provider] contact `mailto:security@contoso.com` must be a tel:, \
             sip: or sips: URI (RFC 7852 §4.1 ContactURI)",
        ]
    );
}
