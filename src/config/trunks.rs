//! Semantic checks of `[[trunk]]` (issue 5, routing by trunk), each reported
//! at the line of the key to fix: names unique and `[A-Za-z0-9_-]`; every
//! source an address or CIDR block ([`crate::acd::trunks::SourceNet`]); no
//! source address in two trunks (the match would be ambiguous); `script` and
//! the `services` flows follow `[[service]] script`'s rule (a file stem);
//! `services` numbers are SIP user tokens (RFC 3261 §25.1). Whether the flows
//! exist is checked where the flows are loaded ([`Config::required_flows`]).

use super::schema::{Config, TrunkSection};
use super::span::{Locator, Seg};
use super::validate::{is_script_name, is_sip_user, Finding};
use crate::acd::trunks::SourceNet;
use std::collections::HashMap;

use Seg::{Index, Key};

/// Every `[[trunk]]` rule.
pub(super) fn check(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let mut names: HashMap<&str, usize> = HashMap::new();
    let mut seen: Vec<(SourceNet, &str)> = Vec::new();
    for (i, t) in cfg.trunk.iter().enumerate() {
        let at = |key| loc.near(&[Key("trunk"), Index(i), Key(key)]);
        if !is_trunk_name(&t.name) {
            let msg = format!("trunk.name: `{}` must be 1..=64 of A-Z a-z 0-9 _ -", t.name);
            out.push(Finding::new(at("name"), msg));
        } else if names.insert(&t.name, i).is_some() {
            let msg = format!("trunk.name: duplicate trunk `{}`", t.name);
            out.push(Finding::new(at("name"), msg));
        }
        sources(i, t, loc, &mut seen, out);
        if let Some(script) = t.script.as_deref().filter(|s| !is_script_name(s)) {
            let msg = format!(
                "trunk.script: trunk `{}`: `{script}` is not a script name (file stem)",
                t.name
            );
            out.push(Finding::new(at("script"), msg));
        }
        services(i, t, loc, out);
    }
}

fn is_trunk_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// Each source parses and belongs to no earlier trunk.
fn sources<'c>(
    i: usize,
    t: &'c TrunkSection,
    loc: &Locator<'_, '_>,
    seen: &mut Vec<(SourceNet, &'c str)>,
    out: &mut Vec<Finding>,
) {
    if t.sources.is_empty() {
        let msg = format!("trunk.sources: trunk `{}` lists no source address", t.name);
        out.push(Finding::new(
            loc.near(&[Key("trunk"), Index(i), Key("sources")]),
            msg,
        ));
    }
    for (j, text) in t.sources.iter().enumerate() {
        let span = loc.near(&[Key("trunk"), Index(i), Key("sources"), Index(j)]);
        let net = match SourceNet::parse(text) {
            Ok(net) => net,
            Err(e) => {
                let msg = format!("trunk.sources: trunk `{}`: {e}", t.name);
                out.push(Finding::new(span, msg));
                continue;
            }
        };
        let other = seen
            .iter()
            .find(|(n, owner)| *owner != t.name && n.overlaps(&net));
        if let Some((n, owner)) = other {
            let msg = format!(
                "trunk.sources: trunk `{}`: `{text}` overlaps {n} of trunk `{owner}` (a source address may belong to one trunk only)",
                t.name
            );
            out.push(Finding::new(span, msg));
        }
        seen.push((net, &t.name));
    }
}

/// `services`: number → flow, numbers SIP user tokens, flows script names.
fn services(i: usize, t: &TrunkSection, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    for (number, flow) in &t.services {
        let span = loc.near(&[Key("trunk"), Index(i), Key("services"), Key(number)]);
        if !is_sip_user(number) {
            let msg = format!(
                "trunk.services: trunk `{}`: `{number}` is not a SIP user token",
                t.name
            );
            out.push(Finding::new(span.clone(), msg));
        }
        if !is_script_name(flow) {
            let msg = format!(
                "trunk.services: trunk `{}`: `{flow}` is not a script name (file stem)",
                t.name
            );
            out.push(Finding::new(span, msg));
        }
    }
}

#[cfg(test)]
mod tests;
