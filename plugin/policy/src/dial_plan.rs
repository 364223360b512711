//! Emergency numbers as dialled (DESIGN §3 step 2): how a dialled string compares with a
//! configured number, shared by the engine's classification and by what a host recognises
//! by itself when the engine cannot decide a message ([`DialPlan`]).

/// The forms a dialled string is compared in, without its parameters (`;phone-context`):
/// as dialled, then with each outside-line prefix stripped (the prefix given), each
/// without a leading `+`.
pub(crate) fn forms<'d, 'p>(
    dialed: &'d str,
    prefixes: &'p [String],
) -> impl Iterator<Item = (Option<&'p str>, &'d str)> {
    let dialed = before_params(dialed).trim();
    core::iter::once((None, dialed))
        .chain(
            prefixes
                .iter()
                .filter_map(move |p| Some((Some(p.as_str()), dialed.strip_prefix(p.as_str())?))),
        )
        .map(|(prefix, form)| (prefix, form.strip_prefix('+').unwrap_or(form)))
}

/// `dialed` up to its first `;`. A byte search: `;` is ASCII, so the cut is on a char
/// boundary, and this runs for every INVITE.
fn before_params(dialed: &str) -> &str {
    let end = dialed.bytes().position(|b| b == b';');
    end.and_then(|end| dialed.get(..end)).unwrap_or(dialed)
}

/// Whether a configured number and a dialled form (from [`forms`]) are the same number:
/// configured numbers compare without their `+` too.
pub(crate) fn same(configured: &str, form: &str) -> bool {
    configured.strip_prefix('+').unwrap_or(configured) == form
}

/// Every emergency dial string and dial mask of a bundle's location policies, and every
/// outside-line prefix, once each, as written. The engine matches a call against its own
/// location policy; a host that cannot run the engine for a message (too large to read, a
/// failed decision) matches against all of them, to send an emergency call on its
/// fail-safe route.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DialPlan {
    /// Dial strings and masks.
    pub numbers: Vec<String>,
    /// Outside-line prefixes.
    pub prefixes: Vec<String>,
}

impl DialPlan {
    /// The plan of `policies`.
    pub fn of<'a>(policies: impl IntoIterator<Item = &'a crate::LocationPolicy> + Clone) -> Self {
        let numbers = policies
            .clone()
            .into_iter()
            .flat_map(|p| &p.numbers)
            .flat_map(|n| core::iter::once(&n.dial_string).chain(&n.masks));
        let prefixes = policies.into_iter().flat_map(|p| &p.outside_line_prefixes);
        Self {
            numbers: distinct(numbers),
            prefixes: distinct(prefixes),
        }
    }

    /// The plan of `policies` with their test numbers among the numbers: every number
    /// some location policy classifies, what [`crate::Policy::may_classify`] compares
    /// with. Built once per bundle, since every ordinary INVITE asks it.
    pub(crate) fn classifiable(policies: &[crate::LocationPolicy]) -> Self {
        let mut plan = Self::of(policies);
        let tests = policies.iter().flat_map(|p| &p.test_numbers);
        plan.numbers = distinct(plan.numbers.iter().chain(tests));
        plan
    }

    /// Whether `dialed` (a Request-URI's user part or `tel:` number) is one of the
    /// emergency numbers, with or without an outside-line prefix.
    pub fn dials_emergency(&self, dialed: &str) -> bool {
        self.holds(dialed)
    }

    /// Whether `dialed` is one of `numbers`, with or without one of `prefixes`.
    fn holds(&self, dialed: &str) -> bool {
        forms(dialed, &self.prefixes).any(|(_, form)| self.numbers.iter().any(|n| same(n, form)))
    }
}

impl crate::Policy {
    /// Whether any location policy could classify a call to `dialed` as an emergency or
    /// test call: its dial strings, masks and test numbers, with its outside-line
    /// prefixes. Which policy applies depends on the caller; this asks all of them, in
    /// one plan pooled when the bundle is assembled (so a prefix of one policy is also
    /// tried before another's numbers: `true` only means "maybe", and sends an INVITE
    /// down the full path, which asks the caller's own policy), and a `false` settles
    /// that the call is neither, whoever places it. The engine's screen for ordinary
    /// INVITEs rests on it.
    pub fn may_classify(&self, dialed: &str) -> bool {
        self.classifiable.holds(dialed)
    }
}

/// The items in their first order, without repeats (a handful per bundle).
fn distinct<'a>(items: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        if !seen.contains(item) {
            seen.push(item.clone());
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use crate::testdata::contoso;

    #[test]
    fn names_every_number_and_prefix_once_and_recognises_them_dialled() {
        let plan = contoso().dial_plan();
        assert_eq!(plan.numbers, ["911", "112", "999"]);
        assert_eq!(plan.prefixes, ["9"]);
        for dialed in ["911", "+911", "9911", "112", "9999", "911;phone-context=+1"] {
            assert!(plan.dials_emergency(dialed), "{dialed}");
        }
        for dialed in ["933", "4255550100", "91", "", "9"] {
            assert!(!plan.dials_emergency(dialed), "{dialed}");
        }
    }

    #[test]
    fn may_classify_emergency_and_test_numbers_of_every_policy() {
        let policy = contoso();
        for dialed in [
            "911",
            "9911",
            "+911",
            "112",
            "999",
            "933",
            "9933",
            "911;phone-context=+1",
        ] {
            assert!(policy.may_classify(dialed), "{dialed}");
        }
        for dialed in ["4255550100", "+14255550199", "0911", "9111", "91", "", "9"] {
            assert!(!policy.may_classify(dialed), "{dialed}");
        }
    }
}
