//! The compile step: read every file, resolve every reference, report every problem, and
//! only then assemble a [`Policy`].

use std::collections::HashSet;

use serde::de::DeserializeOwned;

use super::assign::{self, SiteSet};
use super::elements::{self, Elements, Role};
use super::erls::ErlSet;
use super::listing::{ElementRow, ErlOrigin, Listing};
use super::resolve::{self, Doc, PolicyRefs};
use super::toml_files::{
    BundleFile, CallersFile, NotificationsFile, PoliciesFile, RoutesFile, SitesFile,
};
use super::{SourceFile, TOML_FILES};
use crate::csv::{self, Table};
use crate::model::{Caller, Counts, Route, TrunkKind};
use crate::policy::{Parts, Policy};
use crate::problem::{Problem, Problems, saturate};

/// The TOML documents of a bundle; each is `None` when absent or unreadable.
#[derive(Default)]
struct Config<'s> {
    bundle: Option<Doc<'s, BundleFile>>,
    policies: Option<Doc<'s, PoliciesFile>>,
    routes: Option<Doc<'s, RoutesFile>>,
    sites: Option<Doc<'s, SitesFile>>,
    notifications: Option<Doc<'s, NotificationsFile>>,
    callers: Option<Doc<'s, CallersFile>>,
    /// Files present but unreadable: references into them are not reported as unknown.
    broken: HashSet<String>,
}

/// What compiling a bundle's sources gives: the policy (and, when the listing is kept,
/// every element's row) or every problem; and warnings either way.
pub(crate) struct Compiled {
    pub result: Result<(Policy, Vec<ElementRow>), Vec<Problem>>,
    /// What compiles but deserves an engineer's look, sorted like problems.
    pub warnings: Vec<Problem>,
    /// Where each ERL of the policy was defined, in [`Policy::erls`] order; empty when the
    /// sources do not compile.
    pub origins: Vec<ErlOrigin>,
}

/// Compiles the sources; `listing` says whether to keep every element's row.
pub(crate) fn compile(files: &[SourceFile], listing: Listing) -> Compiled {
    let mut warnings = Problems::default();
    let mut origins = Vec::new();
    let result = compile_into(files, listing, &mut warnings, &mut origins);
    Compiled {
        result,
        warnings: warnings.into_sorted(),
        origins,
    }
}

fn compile_into(
    files: &[SourceFile],
    listing: Listing,
    warnings: &mut Problems,
    origins: &mut Vec<ErlOrigin>,
) -> Result<(Policy, Vec<ElementRow>), Vec<Problem>> {
    let mut problems = Problems::default();
    let texts = decoded(files, &mut problems);
    let config = read_toml(&texts, &mut problems);
    let default_validated = config
        .bundle
        .as_ref()
        .is_some_and(|b| b.data.import.default_validated);
    let mut erls = ErlSet::new(default_validated);
    let (tables, csv_complete) = read_csv(&texts, &mut problems);
    erls.complete = csv_complete;
    for (name, _, table, _) in tables.iter().filter(|t| t.3 == Role::Erls) {
        erls.import_table(name, table, &mut problems);
    }
    let mut elements = Elements::new(listing);
    for (name, index, table, role) in tables.iter().filter(|t| t.3 != Role::Erls) {
        elements.import_table((name, *index), table, *role, &mut erls, &mut problems);
    }
    let targets = resolve::targets(config.notifications.as_ref(), &mut problems);
    let mut targets = targets;
    targets.readable = !config.broken.contains("notifications.toml");
    let has_provider = config
        .bundle
        .as_ref()
        .is_some_and(|b| b.data.provider.is_some());
    let (routes, mut route_index) =
        resolve::routes(config.routes.as_ref(), has_provider, &mut problems);
    route_index.readable = !config.broken.contains("routes.toml");
    let refs = PolicyRefs {
        routes: &route_index,
        targets: &targets,
    };
    let (policies, mut policy_index) =
        resolve::policies(config.policies.as_ref(), &refs, &mut problems);
    policy_index.readable = !config.broken.contains("policies.toml");
    let sites = assign::sites(config.sites.as_ref(), &policy_index, &mut problems);
    let callers = assign::callers(config.callers.as_ref(), &policy_index, &erls, &mut problems);
    let settings = match &config.bundle {
        Some(doc) => assign::settings(doc, &policy_index, &mut problems),
        None => None,
    };
    let coverage = Coverage {
        policies: &policies,
        routes: &routes,
        sites: &sites,
        global: settings.as_ref().map(|(s, _)| s.global_policy),
    };
    coverage.check(&elements, &callers, &erls, &texts, &mut problems);
    let Some((settings, trust)) = settings else {
        return Err(problems.into_sorted());
    };
    if trust.carriers.is_none() && erls.drafts.iter().any(|d| !d.erl.elins.is_empty()) {
        // The `[trust]` line, where carriers would go (or the file as a whole).
        let (file, line) = config.bundle.as_ref().map_or(("bundle.toml", 0), |d| {
            let at = d.text.lines().position(|l| l.trim() == "[trust]");
            (d.file, at.map_or(0, |i| saturate(i + 1)))
        });
        warnings.at(
            file,
            line,
            "[trust] names no `carriers`: any peer outside the trusted networks that calls \
             one of our ELINs is taken for a PSAP calling back; list the networks of the \
             carriers' SBCs (`carriers = [\"…\"]`)",
        );
    }
    if !problems.is_empty() {
        return Err(problems.into_sorted());
    }
    let counts = Counts {
        erls: saturate(erls.drafts.len()),
        policies: saturate(policies.len()),
        sites: saturate(sites.sites.len()),
        routes: saturate(routes.len()),
        callers: saturate(callers.len()),
        ..elements.counts
    };
    let rows = elements.rows.take().unwrap_or_default();
    origins.extend(
        erls.drafts
            .iter()
            .enumerate()
            .map(|(index, draft)| ErlOrigin {
                erl: saturate(index),
                file: draft.file.clone(),
                line: draft.line,
            }),
    );
    let policy = Policy::assemble(Parts {
        settings,
        erls: erls.into_erls(),
        network: elements.builder.build(),
        policies,
        routes,
        sites: sites.sites,
        site_map: sites.map,
        trusted: trust.trusted,
        carriers: trust.carriers,
        callers: callers.into_iter().map(|(c, _)| c).collect(),
        counts,
    });
    Ok((policy, rows))
}

/// Each file's name and text; files that are not text are reported and skipped.
fn decoded<'s>(files: &'s [SourceFile], problems: &mut Problems) -> Vec<(&'s SourceFile, &'s str)> {
    let mut out = Vec::new();
    for file in files {
        match &file.text {
            Some(text) => out.push((file, text.as_str())),
            None if matches!(file.extension().as_deref(), Some("toml" | "csv")) => {
                problems.at(
                    &file.name,
                    1,
                    "not text: expected UTF-8 (or UTF-16 with a byte-order mark)",
                );
            }
            None => {}
        }
    }
    out
}

fn read_toml<'s>(texts: &[(&'s SourceFile, &'s str)], problems: &mut Problems) -> Config<'s> {
    let mut config = Config::default();
    let mut seen = HashSet::new();
    for (file, text) in texts
        .iter()
        .filter(|(f, _)| f.extension().as_deref() == Some("toml"))
    {
        let base = file.base_name().to_ascii_lowercase();
        if !seen.insert(base.clone()) {
            problems.at(&file.name, 1, format!("a second {base} in the bundle"));
            continue;
        }
        let (name, text) = (file.name.as_str(), *text);
        let before = problems.len();
        match base.as_str() {
            "bundle.toml" => config.bundle = parse(name, text, problems),
            "policies.toml" => config.policies = parse(name, text, problems),
            "routes.toml" => config.routes = parse(name, text, problems),
            "sites.toml" => config.sites = parse(name, text, problems),
            "notifications.toml" => config.notifications = parse(name, text, problems),
            "callers.toml" => config.callers = parse(name, text, problems),
            _ => problems.at(
                name,
                1,
                format!("unknown TOML file: a bundle has {}", TOML_FILES.join(", ")),
            ),
        }
        if problems.len() > before {
            config.broken.insert(base);
        }
    }
    if !seen.contains("bundle.toml") {
        problems.at(
            "bundle.toml",
            0,
            "missing: every bundle needs bundle.toml (tenant, revision, global_policy)",
        );
    }
    config
}

fn parse<'s, T: DeserializeOwned>(
    file: &'s str,
    text: &'s str,
    problems: &mut Problems,
) -> Option<Doc<'s, T>> {
    match toml::from_str::<T>(text) {
        Ok(data) => Some(Doc { file, text, data }),
        Err(error) => {
            let offset = error.span().map_or(0, |s| s.start);
            // serde's "expected one of …" list is long (it includes the Lync aliases), and
            // the line already points at the misspelt key.
            let message = error.message().trim().replace('\n', " ");
            let message = message
                .split(", expected one of")
                .next()
                .unwrap_or_default();
            problems.at_offset(file, text, offset, message);
            None
        }
    }
}

/// Every CSV file with its index among the texts and its role, ERL files first; and
/// whether every CSV file could be read.
fn read_csv<'s>(
    texts: &[(&'s SourceFile, &'s str)],
    problems: &mut Problems,
) -> (Vec<(&'s str, u32, Table<'s>, Role)>, bool) {
    let mut out = Vec::new();
    let mut complete = true;
    for (index, (file, text)) in texts.iter().enumerate() {
        if file.extension().as_deref() != Some("csv") {
            continue;
        }
        let table = match csv::parse(text) {
            Ok(table) => table,
            Err(e) => {
                problems.at(&file.name, e.line, e.message);
                complete = false;
                continue;
            }
        };
        match elements::role(&table) {
            Ok(role) => out.push((file.name.as_str(), saturate(index), table, role)),
            Err(message) => {
                problems.at(&file.name, table.header_line, message);
                complete = false;
            }
        }
    }
    out.sort_by_key(|t| (t.3 != Role::Erls, t.0));
    (out, complete)
}

/// The check that an ELIN gateway never receives a call from an ERL without ELINs: it
/// would have no caller ID the PSAP can call back or look up in ALI.
struct Coverage<'a> {
    policies: &'a [crate::model::LocationPolicy],
    routes: &'a [Route],
    sites: &'a SiteSet,
    global: Option<u32>,
}

impl Coverage<'_> {
    /// An ELIN gateway trunk on any route of a policy (its own, or one of its numbers'),
    /// if it has one.
    fn elin_trunk(&self, policy: Option<u32>) -> Option<&str> {
        let policy = self.policies.get(policy? as usize)?;
        let routes = policy.numbers.iter().map(|n| n.route.or(policy.route));
        routes
            .chain([policy.route])
            .flatten()
            .filter_map(|r| self.routes.get(r as usize))
            .flat_map(|route| &route.hops)
            .find(|h| h.kind == TrunkKind::ElinGateway)
            .map(|h| h.trunk.as_str())
    }

    fn check(
        &self,
        elements: &Elements,
        callers: &[(Caller, String)],
        erls: &ErlSet,
        texts: &[(&SourceFile, &str)],
        problems: &mut Problems,
    ) {
        let file_name = |index: u32| {
            texts
                .get(index as usize)
                .map_or("", |(f, _)| f.name.as_str())
        };
        let mut flagger = Flagger {
            erls,
            reported: HashSet::new(),
            problems,
        };
        for row in &elements.subnets {
            let site = self.sites.map.locate_ip(row.subnet.addr);
            let (policy, who) =
                match site.and_then(|s| Some((s, self.sites.sites.get(s as usize)?))) {
                    Some((s, site)) => (
                        Some(site.policy),
                        format!("site `{}` ({})", site.id, self.origin(s)),
                    ),
                    None => (self.global, String::from("the global policy")),
                };
            if let Some(trunk) = self.elin_trunk(policy) {
                let via = format!("{who} routes its calls through ELIN gateway `{trunk}`");
                flagger.flag(row.erl, (file_name(row.file), row.line), &via);
            }
        }
        if let Some(trunk) = self.elin_trunk(self.global) {
            let via = format!("the global policy routes calls through ELIN gateway `{trunk}`");
            for &(erl, file, line) in &elements.others {
                flagger.flag(erl, (file_name(file), line), &via);
            }
        }
        for (caller, origin) in callers {
            let (Some(erl), Some(trunk)) = (
                caller.location,
                self.elin_trunk(caller.policy.or(self.global)),
            ) else {
                continue;
            };
            let via = format!(
                "caller `{}` ({origin}) is routed through ELIN gateway `{trunk}`",
                caller.identity
            );
            let (file, line) = origin
                .rsplit_once(':')
                .map_or(("callers.toml", 0), |(f, l)| (f, l.parse().unwrap_or(0)));
            flagger.flag(erl, (file, line), &via);
        }
    }

    fn origin(&self, site: u32) -> &str {
        self.sites
            .origins
            .get(site as usize)
            .map_or("", String::as_str)
    }
}

/// Reports each ERL without ELINs once per reason.
struct Flagger<'a> {
    erls: &'a ErlSet,
    reported: HashSet<(u32, String)>,
    problems: &'a mut Problems,
}

impl Flagger<'_> {
    fn flag(&mut self, erl: u32, (file, line): (&str, u32), via: &str) {
        let Some(draft) = self.erls.get(erl) else {
            return;
        };
        if draft.erl.elins.is_empty() && self.reported.insert((erl, via.to_owned())) {
            self.problems.at(
                file,
                line,
                format!("ERL `{}` has no ELINs, but {via}", draft.erl.id),
            );
        }
    }
}
