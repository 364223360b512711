//! [`Policy`]: a compiled bundle in memory, ready to answer calls.

use core::net::IpAddr;

use e911_location::lis::{ElementMatch, KeyedTable, NetworkFacts, NetworkMap};

use crate::civic::Inside;
use crate::dial_plan::DialPlan;
use crate::identity::identity_key;
use crate::model::{Caller, Counts, Erl, LocationPolicy, Route, Settings, Site};

/// A compiled policy bundle: LIS tables, ERLs, location policies, routes, sites, callers.
///
/// Built by [`crate::Sources::compile`] or loaded by [`crate::Bundle::load`]; answers calls
/// with [`Policy::evaluate`]. Immutable: a reload builds a new one and swaps it in.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub(crate) settings: Settings,
    pub(crate) erls: Vec<Erl>,
    pub(crate) network: NetworkMap,
    pub(crate) policies: Vec<LocationPolicy>,
    pub(crate) routes: Vec<Route>,
    pub(crate) sites: Vec<Site>,
    pub(crate) site_map: NetworkMap,
    pub(crate) trusted: NetworkMap,
    pub(crate) carriers: Option<NetworkMap>,
    pub(crate) callers: Vec<Caller>,
    pub(crate) counts: Counts,
    caller_index: KeyedTable,
    elin_index: KeyedTable,
    /// Every number some location policy classifies ([`DialPlan::classifiable`]).
    pub(crate) classifiable: DialPlan,
}

/// The parts a policy is assembled from (compiled sources or a decoded bundle).
pub(crate) struct Parts {
    pub settings: Settings,
    pub erls: Vec<Erl>,
    pub network: NetworkMap,
    pub policies: Vec<LocationPolicy>,
    pub routes: Vec<Route>,
    pub sites: Vec<Site>,
    pub site_map: NetworkMap,
    pub trusted: NetworkMap,
    pub carriers: Option<NetworkMap>,
    pub callers: Vec<Caller>,
    pub counts: Counts,
}

/// One of our ELINs and the ERL it belongs to; see [`Policy::elin`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElinOwner<'p> {
    /// The ELIN as configured (E.164).
    pub elin: &'p str,
    /// Index of the ERL.
    pub erl_index: u32,
    /// The ERL.
    pub erl: &'p Erl,
}

impl Policy {
    pub(crate) fn assemble(mut parts: Parts) -> Self {
        for erl in &mut parts.erls {
            erl.inside = Some(Inside::of(&erl.civic));
        }
        let caller_index = KeyedTable::build(
            parts
                .callers
                .iter()
                .enumerate()
                .map(|(i, c)| (c.identity.as_str().into(), index(i)))
                .collect(),
        );
        let elins = parts
            .erls
            .iter()
            .enumerate()
            .flat_map(|(i, erl)| erl.elins.iter().map(move |e| (e.as_str().into(), index(i))));
        let elin_index = KeyedTable::build(elins.collect());
        let classifiable = DialPlan::classifiable(&parts.policies);
        Self {
            settings: parts.settings,
            erls: parts.erls,
            network: parts.network,
            policies: parts.policies,
            routes: parts.routes,
            sites: parts.sites,
            site_map: parts.site_map,
            trusted: parts.trusted,
            carriers: parts.carriers,
            callers: parts.callers,
            counts: parts.counts,
            caller_index,
            elin_index,
            classifiable,
        }
    }

    /// Tenant settings: revision, header names, trusted networks.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The bundle revision.
    pub fn revision(&self) -> &str {
        &self.settings.revision
    }

    /// How much the bundle holds.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    /// Every ERL; network lookups answer indices into this list.
    pub fn erls(&self) -> &[Erl] {
        &self.erls
    }

    /// The ERL with this id.
    pub fn erl(&self, id: &str) -> Option<&Erl> {
        self.erls.iter().find(|e| e.id == id)
    }

    /// Every location policy.
    pub fn policies(&self) -> &[LocationPolicy] {
        &self.policies
    }

    /// Every emergency number and outside-line prefix of every location policy: what a
    /// host recognises by itself when the engine cannot decide a message.
    pub fn dial_plan(&self) -> DialPlan {
        DialPlan::of(&self.policies)
    }

    /// Every route.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Every network site.
    pub fn sites(&self) -> &[Site] {
        &self.sites
    }

    /// Every caller-specific assignment (a static ERL for an analog DID, a caller's
    /// policy).
    pub fn callers(&self) -> &[Caller] {
        &self.callers
    }

    /// The LIS network map (BSSID → port → chassis → subnet).
    pub fn network(&self) -> &NetworkMap {
        &self.network
    }

    /// The ERL and element a network lookup finds, in Lync's precedence.
    pub fn locate(&self, facts: &NetworkFacts<'_>) -> Option<ElementMatch> {
        self.network.locate(facts)
    }

    /// Whether `ip` is in a trusted network, whose headers (P-Access-Network-Info, the
    /// LLDP headers, the client-IP header) and asserted identities are believed.
    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.trusted.locate_ip(ip).is_some()
    }

    /// The caller-specific assignment for an identity (E.164 number or SIP URI).
    pub fn caller(&self, identity: &str) -> Option<&Caller> {
        let key = identity_key(identity)?;
        let at = self.caller_index.lookup(&key)?;
        self.callers.get(at as usize)
    }

    /// Whether `number` is one of our ELINs, so the engine can recognise a PSAP callback.
    /// Accepts `+13165550100`, `tel:+1-316-555-0100`, a SIP URI with that user part, and
    /// also the national forms carriers present: digits without `+`, and ten NANP digits.
    pub fn elin(&self, number: &str) -> Option<ElinOwner<'_>> {
        // A dialled number already in key form (`+` and digits, or digits: every ordinary
        // INVITE asks this) is looked up from a stack buffer, without allocating.
        if let Some(plain) = plain_number(number) {
            return self.elin_of_key(plain);
        }
        self.elin_of_key(&identity_key(number)?)
    }

    /// [`Policy::elin`] for a comparison key: the key itself, then with `+`, then with
    /// `+1` for ten NANP digits.
    fn elin_of_key(&self, key: &str) -> Option<ElinOwner<'_>> {
        let mut buf = [0u8; MAX_PLAIN_NUMBER + 2];
        let digits = key.bytes().all(|b| b.is_ascii_digit());
        let prefixes: &[&str] = match (digits, key.len()) {
            (false, _) => &[""],
            (true, 10) => &["", "+", "+1"],
            (true, _) => &["", "+"],
        };
        prefixes.iter().find_map(|prefix| {
            let candidate = if prefix.is_empty() {
                key
            } else {
                // Byte by byte: `copy_from_slice` and `split_at_mut` carry panic paths,
                // and none may reach the Envoy module.
                let out = buf.get_mut(..prefix.len() + key.len())?;
                for (slot, byte) in out.iter_mut().zip(prefix.bytes().chain(key.bytes())) {
                    *slot = byte;
                }
                core::str::from_utf8(out).ok()?
            };
            let erl_index = self.elin_index.lookup(candidate)?;
            let erl = self.erls.get(erl_index as usize)?;
            let elin = erl.elins.iter().find(|e| *e == candidate)?;
            Some(ElinOwner {
                elin,
                erl_index,
                erl,
            })
        })
    }
}

/// Longest number [`plain_number`] takes: E.164's 15 digits and a `+`, with room to spare.
const MAX_PLAIN_NUMBER: usize = 20;

/// `number` when it is already its own comparison key (what [`identity_key`] would
/// return): an optional `+`, then only digits, at most [`MAX_PLAIN_NUMBER`] long.
fn plain_number(number: &str) -> Option<&str> {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (!digits.is_empty()
        && number.len() <= MAX_PLAIN_NUMBER
        && digits.bytes().all(|b| b.is_ascii_digit()))
    .then_some(number)
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}
