//! Semantic checks on a configuration that parsed: every rule that the type
//! system cannot express, each reported at the line of the offending key.
//! All findings are collected, not just the first.
//!
//! Rules: listen addresses are `ip:port`; seat users are SIP user tokens
//! (RFC 3261 §25.1 `user`), unique, with non-empty passwords; registrar
//! expiries satisfy min ≤ default ≤ max (§10.3); T1 ≤ T2 (§17.1.1.1); the log
//! level is a tracing `EnvFilter`; and the demo contract's security rule:
//! while any seat keeps its published demo password, every listener must be
//! bound to loopback.

use super::schema::Config;
use super::span::{Locator, Seg};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::Range;

/// One problem found, located by byte span in the configuration text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Finding {
    pub span: Range<usize>,
    pub message: String,
}

impl Finding {
    pub(super) fn new(span: Range<usize>, message: String) -> Self {
        Finding { span, message }
    }
}

use Seg::{Index, Key};

/// Listen addresses, checked on the raw document so that every bad address
/// is reported (deserialising stops at the first).
pub(crate) fn addresses(loc: &Locator<'_, '_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for list in ["udp", "tcp"] {
        for i in 0..loc.array_len(&[Key("sip"), Key(list)]) {
            check_address(loc, &[Key("sip"), Key(list), Index(i)], &mut out);
        }
    }
    check_address(loc, &[Key("http"), Key("listen")], &mut out);
    out
}

fn check_address(loc: &Locator<'_, '_>, path: &[Seg<'_>], out: &mut Vec<Finding>) {
    if let Some((text, span)) = loc.string_at(path) {
        if text.parse::<SocketAddr>().is_err() {
            let name = path_name(path);
            let msg = format!(
                "{name}: `{text}` is not a socket address (expected ip:port, \
                 e.g. 127.0.0.1:5060 or [::1]:5060)"
            );
            out.push(Finding::new(span, msg));
        }
    }
}

/// Every semantic rule on a deserialised configuration.
pub(crate) fn semantic(cfg: &Config, loc: &Locator<'_, '_>) -> Vec<Finding> {
    let mut out = Vec::new();
    seats(cfg, loc, &mut out);
    cti(cfg, loc, &mut out);
    media_codecs(cfg, loc, &mut out);
    registrar(cfg, loc, &mut out);
    sip(cfg, loc, &mut out);
    log(cfg, loc, &mut out);
    demo_passwords_need_loopback(cfg, loc, &mut out);
    desk(cfg, loc, &mut out);
    super::trunks::check(cfg, loc, &mut out);
    admin_auth(cfg, loc, &mut out);
    out.sort_by_key(|f| f.span.start);
    out
}

fn seats(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let mut first_seen: HashMap<&str, usize> = HashMap::new();
    for (i, seat) in cfg.seat.iter().enumerate() {
        let user_path = [Key("seat"), Index(i), Key("user")];
        if !is_sip_user(&seat.user) {
            let msg = format!(
                "seat.user: `{}` is not a SIP user token (letters, digits and \
                 -_.!~*'()&=+$,;?/ only)",
                seat.user
            );
            out.push(Finding::new(loc.near(&user_path), msg));
        }
        if let Some(first) = first_seen.get(seat.user.as_str()) {
            let msg = format!(
                "seat.user: duplicate seat `{}` (first defined as seat #{})",
                seat.user,
                first + 1
            );
            out.push(Finding::new(loc.near(&user_path), msg));
        } else {
            first_seen.insert(&seat.user, i);
        }
        if seat.password.is_empty() {
            let path = [Key("seat"), Index(i), Key("password")];
            let msg = format!("seat.password: seat `{}` has an empty password", seat.user);
            out.push(Finding::new(loc.near(&path), msg));
        }
        if seat.skills.iter().any(|s| s.trim().is_empty()) {
            let path = [Key("seat"), Index(i), Key("skills")];
            let msg = format!("seat.skills: seat `{}` has an empty skill name", seat.user);
            out.push(Finding::new(loc.near(&path), msg));
        }
    }
}

/// `[[seat]] agent_password_hash` is an Argon2 PHC string; `[desk]` codes
/// are non-empty, unique, at most 64 bytes.
fn desk(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    for (i, seat) in cfg.seat.iter().enumerate() {
        let Some(hash) = &seat.agent_password_hash else {
            continue;
        };
        if let Err(why) = crate::http::desk::password::check_phc(hash) {
            let path = [Key("seat"), Index(i), Key("agent_password_hash")];
            let msg = format!("seat.agent_password_hash: seat `{}`: {why}", seat.user);
            out.push(Finding::new(loc.near(&path), msg));
        }
    }
    let lists = [
        ("break_reasons", &cfg.desk.break_reasons),
        ("dispositions", &cfg.desk.dispositions),
    ];
    for (key, list) in lists {
        let mut seen = std::collections::HashSet::new();
        for (i, code) in list.iter().enumerate() {
            let bad =
                code.trim().is_empty() || code.len() > 64 || code.chars().any(char::is_control);
            let msg = if bad {
                format!("desk.{key}: `{code}` must be 1..=64 bytes without control characters")
            } else if !seen.insert(code.as_str()) {
                format!("desk.{key}: `{code}` is listed twice")
            } else {
                continue;
            };
            out.push(Finding::new(
                loc.near(&[Key("desk"), Key(key), Index(i)]),
                msg,
            ));
        }
    }
}

/// `[media] codecs`: at least one, each known, none twice.
fn media_codecs(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let codecs = &cfg.media.codecs;
    if codecs.is_empty() {
        let msg = "media.codecs: empty; list at least one of PCMU, PCMA, G722, opus".to_owned();
        out.push(Finding::new(loc.near(&[Key("media"), Key("codecs")]), msg));
    }
    for (i, name) in codecs.iter().enumerate() {
        let path = [Key("media"), Key("codecs"), Index(i)];
        let msg = match crate::media::Codec::from_name(name) {
            None => format!("media.codecs: unknown codec `{name}` (PCMU, PCMA, G722, opus)"),
            Some(_) if codecs[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) => {
                format!("media.codecs: `{name}` listed twice")
            }
            Some(_) => continue,
        };
        out.push(Finding::new(loc.near(&path), msg));
    }
}

/// `[[queue]] escalate`: `after_s` in 1..=86400 and strictly increasing;
/// each step widens (`min_level` 1..=10), moves (`queue`, another configured
/// queue), or both.
fn escalation(
    cfg: &Config,
    i: usize,
    q: &super::schema::QueueSection,
    loc: &Locator<'_, '_>,
    out: &mut Vec<Finding>,
) {
    let mut prev = 0;
    for (j, e) in q.escalate.iter().enumerate() {
        let at = |key| loc.near(&[Key("queue"), Index(i), Key("escalate"), Index(j), Key(key)]);
        let name = &q.name;
        if !(1..=MAX_AHT_S).contains(&e.after_s) || e.after_s <= prev {
            let msg = format!(
                "queue.escalate.after_s: queue `{name}`: {} must be in 1..={MAX_AHT_S} and after the step before ({prev})",
                e.after_s
            );
            out.push(Finding::new(at("after_s"), msg));
        }
        prev = prev.max(e.after_s);
        if let Some(level) = e.min_level.filter(|l| !(1..=10).contains(l)) {
            let msg =
                format!("queue.escalate.min_level: queue `{name}`: {level} is outside 1..=10");
            out.push(Finding::new(at("min_level"), msg));
        }
        match &e.queue {
            Some(to) if to == name || !cfg.queue.iter().any(|x| &x.name == to) => {
                let msg = format!(
                    "queue.escalate.queue: queue `{name}`: `{to}` is not another configured queue"
                );
                out.push(Finding::new(at("queue"), msg));
            }
            None if e.min_level.is_none() => {
                let msg = format!(
                    "queue.escalate: queue `{name}`: a step needs `min_level`, `queue` or both"
                );
                out.push(Finding::new(at("after_s"), msg));
            }
            _ => {}
        }
    }
}

/// `[cti] callback_*`: a trunk template the engine may call, bounds in range.
fn callback(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let c = &cfg.cti;
    let trunk = &c.callback_trunk;
    let filled = trunk.replace("{number}", "5551234");
    let problem = if !trunk.contains("{number}") {
        Some("needs `{number}`".to_owned())
    } else {
        crate::acd::transfer_target(&filled, &cfg.ivr.transfer_allow)
            .err()
            .map(|e| e.to_string())
    };
    if let Some(p) = problem {
        let msg = format!("cti.callback_trunk: `{trunk}`: {p}");
        out.push(Finding::new(
            loc.near(&[Key("cti"), Key("callback_trunk")]),
            msg,
        ));
    }
    let ranges: [(&str, u64, std::ops::RangeInclusive<u64>); 5] = [
        ("callback_retries", u64::from(c.callback_retries), 0..=10),
        ("callback_retry_s", c.callback_retry_s, 1..=3_600),
        ("callback_ring_s", c.callback_ring_s, 1..=300),
        ("callback_max_age_s", c.callback_max_age_s, 1..=604_800),
        ("max_callbacks", c.max_callbacks as u64, 1..=100_000),
    ];
    for (key, v, range) in ranges {
        if !range.contains(&v) {
            let msg = format!(
                "cti.{key}: {v} is outside {}..={}",
                range.start(),
                range.end()
            );
            out.push(Finding::new(loc.near(&[Key("cti"), Key(key)]), msg));
        }
    }
}

/// Most text contacts (chat, email, SMS) one agent may hold per channel.
const MAX_TEXT_CAPACITY: u32 = 100;

/// `[cti] capacity`: calls 0 or 1, text channels 0..=100.
fn capacity(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let c = &cfg.cti.capacity;
    let fields = [
        ("voice", c.voice, 1),
        ("video", c.video, 1),
        ("chat", c.chat, MAX_TEXT_CAPACITY),
        ("email", c.email, MAX_TEXT_CAPACITY),
        ("sms", c.sms, MAX_TEXT_CAPACITY),
    ];
    for (name, value, max) in fields {
        if value > max {
            let msg = format!("cti.capacity.{name}: {value} is outside 0..={max}");
            let at = loc.near(&[Key("cti"), Key("capacity"), Key(name)]);
            out.push(Finding::new(at, msg));
        }
    }
}

/// Longest `default_aht_s` accepted (a day).
const MAX_AHT_S: u64 = 86_400;

/// `[cti]`, `[[queue]]` and `[[service]]`: names unique and usable.
fn cti(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let level = cfg.cti.seat_skill_level;
    if !(1..=10).contains(&level) {
        let msg = format!("cti.seat_skill_level: {level} is outside 1..=10");
        out.push(Finding::new(
            loc.near(&[Key("cti"), Key("seat_skill_level")]),
            msg,
        ));
    }
    capacity(cfg, loc, out);
    callback(cfg, loc, out);
    let m = &cfg.media;
    if m.rtp_port_min >= m.rtp_port_max || m.rtp_port_max - m.rtp_port_min < 3 {
        let msg = format!(
            "media.rtp_port_min/max: {}..{} holds no even port pair",
            m.rtp_port_min, m.rtp_port_max
        );
        out.push(Finding::new(
            loc.near(&[Key("media"), Key("rtp_port_min")]),
            msg,
        ));
    }
    if cfg.recording.enabled && m.mode == crate::config::MediaModeConfig::Direct {
        let msg = "recording.enabled: recording needs media.mode = \"relay\" (in direct mode RTP bypasses the SoftACD)".to_owned();
        out.push(Finding::new(
            loc.near(&[Key("recording"), Key("enabled")]),
            msg,
        ));
    }
    let mut queues: HashMap<&str, usize> = HashMap::new();
    for (i, q) in cfg.queue.iter().enumerate() {
        let path = [Key("queue"), Index(i), Key("name")];
        if q.name.trim().is_empty() {
            out.push(Finding::new(
                loc.near(&path),
                "queue.name: empty queue name".to_owned(),
            ));
        } else if queues.insert(&q.name, i).is_some() {
            let msg = format!("queue.name: duplicate queue `{}`", q.name);
            out.push(Finding::new(loc.near(&path), msg));
        }
        if q.max_size == 0 {
            let msg = format!(
                "queue.max_size: queue `{}` must hold at least 1 contact",
                q.name
            );
            out.push(Finding::new(
                loc.near(&[Key("queue"), Index(i), Key("max_size")]),
                msg,
            ));
        }
        if !(1..=MAX_AHT_S).contains(&q.default_aht_s) {
            let msg = format!(
                "queue.default_aht_s: queue `{}`: {} is outside 1..={MAX_AHT_S}",
                q.name, q.default_aht_s
            );
            out.push(Finding::new(
                loc.near(&[Key("queue"), Index(i), Key("default_aht_s")]),
                msg,
            ));
        }
    }
    for (i, q) in cfg.queue.iter().enumerate() {
        escalation(cfg, i, q, loc, out);
    }
    let mut numbers: HashMap<&str, usize> = HashMap::new();
    for (i, s) in cfg.service.iter().enumerate() {
        let path = [Key("service"), Index(i), Key("number")];
        if !is_sip_user(&s.number) {
            let msg = format!("service.number: `{}` is not a SIP user token", s.number);
            out.push(Finding::new(loc.near(&path), msg));
        } else if numbers.insert(&s.number, i).is_some() {
            let msg = format!("service.number: duplicate service number `{}`", s.number);
            out.push(Finding::new(loc.near(&path), msg));
        }
        if !is_script_name(&s.script) {
            let msg = format!(
                "service.script: `{}` is not a script name (file stem)",
                s.script
            );
            out.push(Finding::new(
                loc.near(&[Key("service"), Index(i), Key("script")]),
                msg,
            ));
        }
    }
}

/// A flow name as `[[service]] script` takes it: a file stem, no path.
pub(super) fn is_script_name(name: &str) -> bool {
    !(name.trim().is_empty() || name.contains(['/', '\\', '.']))
}

/// RFC 3261 §25.1 `user`, without `%`-escapes: unreserved / user-unreserved.
pub(super) fn is_sip_user(user: &str) -> bool {
    const MARK_AND_USER_UNRESERVED: &str = "-_.!~*'()&=+$,;?/";
    !user.is_empty()
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || MARK_AND_USER_UNRESERVED.contains(c))
}

fn registrar(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let r = &cfg.registrar;
    let at = |key| [Key("registrar"), Key(key)];
    if r.min_expires > r.max_expires {
        let span = first_present(loc, &[&at("min_expires"), &at("max_expires")]);
        let msg = format!(
            "registrar.min_expires ({}) is greater than registrar.max_expires ({})",
            r.min_expires, r.max_expires
        );
        out.push(Finding::new(span, msg));
    } else if r.default_expires < r.min_expires || r.default_expires > r.max_expires {
        let span = first_present(
            loc,
            &[
                &at("default_expires"),
                &at("min_expires"),
                &at("max_expires"),
            ],
        );
        let msg = format!(
            "registrar.default_expires ({}) is outside [min_expires, max_expires] = [{}, {}]",
            r.default_expires, r.min_expires, r.max_expires
        );
        out.push(Finding::new(span, msg));
    }
    let algs = &r.digest_algorithms;
    let bad_alg = algs.iter().any(|a| a != "MD5" && a != "SHA-256");
    let dup_alg = algs.len() == 2 && algs[0] == algs[1];
    if algs.is_empty() || algs.len() > 2 || bad_alg || dup_alg {
        let msg = "registrar.digest_algorithms must list \"MD5\" and/or \"SHA-256\", each once"
            .to_owned();
        out.push(Finding::new(loc.near(&at("digest_algorithms")), msg));
    }
    if r.max_bindings_per_aor == 0 {
        let msg = "registrar.max_bindings_per_aor must be at least 1".to_owned();
        out.push(Finding::new(loc.near(&at("max_bindings_per_aor")), msg));
    }
    if r.realm.is_empty() || r.realm.contains('"') {
        let msg = "registrar.realm must be non-empty and contain no `\"`".to_owned();
        out.push(Finding::new(loc.near(&at("realm")), msg));
    }
}

fn sip(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let t = &cfg.sip.timers;
    let at = |key| [Key("sip"), Key("timers"), Key(key)];
    if t.t1_ms == 0 {
        let msg = "sip.timers.t1_ms must be at least 1".to_owned();
        out.push(Finding::new(loc.near(&at("t1_ms")), msg));
    }
    if t.t1_ms > t.t2_ms {
        let span = first_present(loc, &[&at("t1_ms"), &at("t2_ms")]);
        let msg = format!(
            "sip.timers.t1_ms ({}) is greater than sip.timers.t2_ms ({})",
            t.t1_ms, t.t2_ms
        );
        out.push(Finding::new(span, msg));
    }
    if cfg.sip.max_transactions == 0 {
        let msg = "sip.max_transactions must be at least 1".to_owned();
        out.push(Finding::new(
            loc.near(&[Key("sip"), Key("max_transactions")]),
            msg,
        ));
    }
    if cfg.sip.leg_probe_s > 3600 {
        let msg = format!(
            "sip.leg_probe_s ({}) must be 0 (off) or 1..=3600",
            cfg.sip.leg_probe_s
        );
        out.push(Finding::new(
            loc.near(&[Key("sip"), Key("leg_probe_s")]),
            msg,
        ));
    }
    if cfg.sip.domain.trim().is_empty() {
        let msg = "sip.domain must not be empty".to_owned();
        out.push(Finding::new(loc.near(&[Key("sip"), Key("domain")]), msg));
    }
}

fn log(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    if let Err(e) = tracing_subscriber::EnvFilter::builder().parse(&cfg.log.level) {
        let msg = format!(
            "log.level: `{}` is not a tracing filter: {e}",
            cfg.log.level
        );
        out.push(Finding::new(loc.near(&[Key("log"), Key("level")]), msg));
    }
}

fn demo_passwords_need_loopback(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    let demo: Vec<&str> = cfg
        .seat
        .iter()
        .filter(|s| s.has_demo_password())
        .map(|s| s.user.as_str())
        .collect();
    if demo.is_empty() {
        return;
    }
    for (path, addr) in listeners(cfg) {
        if !addr.ip().is_loopback() {
            let msg = format!(
                "{}: {addr} is not a loopback address, but seat(s) {} still have \
                 the published demo password; change those passwords before \
                 listening beyond 127.0.0.1/::1",
                path_name(&path),
                demo.join(", ")
            );
            out.push(Finding::new(loc.near(&path), msg));
        }
    }
}

/// Every listen address with its key path.
fn listeners(cfg: &Config) -> Vec<(Vec<Seg<'static>>, SocketAddr)> {
    let mut out = Vec::new();
    for (list, addrs) in [("udp", &cfg.sip.udp), ("tcp", &cfg.sip.tcp)] {
        for (i, addr) in addrs.iter().enumerate() {
            out.push((vec![Key("sip"), Key(list), Index(i)], *addr));
        }
    }
    out.push((vec![Key("http"), Key("listen")], cfg.http.listen));
    out
}

/// Span of the first path that exists in the file, else near the first path.
fn first_present(loc: &Locator<'_, '_>, paths: &[&[Seg<'_>]]) -> Range<usize> {
    paths
        .iter()
        .find_map(|p| loc.exact(p))
        .or_else(|| paths.first().map(|p| loc.near(p)))
        .unwrap_or(0..0)
}

/// `sip.udp[0]` style name of a key path, for messages.
fn path_name(path: &[Seg<'_>]) -> String {
    let mut name = String::new();
    for seg in path {
        match seg {
            Key(k) if name.is_empty() => name.push_str(k),
            Key(k) => {
                name.push('.');
                name.push_str(k);
            }
            Index(n) => name.push_str(&format!("[{n}]")),
        }
    }
    name
}

/// `[http]` admin token and `[[supervisors]]` (issue 6, admin security):
/// Argon2 PHC strings, unique ids that are not also desk agents, a sane
/// session lifetime; and, like demo seat passwords, the HTTP listener stays
/// on loopback while no admin is configured (every route open) or the
/// shipped demo credentials are in use.
fn admin_auth(cfg: &Config, loc: &Locator<'_, '_>, out: &mut Vec<Finding>) {
    use crate::http::auth::{DEMO_SUPERVISOR_HASH, DEMO_TOKEN_HASH};
    use crate::http::desk::password::check_phc;
    let token = cfg.http.admin_token_hash.as_deref();
    if let Some(Err(why)) = token.map(check_phc) {
        let path = [Key("http"), Key("admin_token_hash")];
        out.push(Finding::new(
            loc.near(&path),
            format!("http.admin_token_hash: {why}"),
        ));
    }
    if !(60..=7 * 86_400).contains(&cfg.http.session_ttl_s) {
        let path = [Key("http"), Key("session_ttl_s")];
        let msg = "http.session_ttl_s: must be 60..=604800 (one minute to one week)";
        out.push(Finding::new(loc.near(&path), msg.to_owned()));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, s) in cfg.supervisors.iter().enumerate() {
        let at = |key| loc.near(&[Key("supervisors"), Index(i), Key(key)]);
        let bad_id = s.id.is_empty() || s.id.len() > 64 || s.id.chars().any(char::is_control);
        let agent = cfg
            .seat
            .iter()
            .any(|seat| seat.user == s.id && seat.agent_password_hash.is_some());
        let msg = if bad_id {
            Some("must be 1..=64 bytes without control characters".to_owned())
        } else if !seen.insert(s.id.as_str()) {
            Some("is listed twice".to_owned())
        } else if agent {
            Some("is also a seat with agent_password_hash; pick another id".to_owned())
        } else {
            None
        };
        if let Some(msg) = msg {
            out.push(Finding::new(
                at("id"),
                format!("supervisors.id: `{}` {msg}", s.id),
            ));
        }
        if let Err(why) = check_phc(&s.password_hash) {
            let msg = format!("supervisors.password_hash: `{}`: {why}", s.id);
            out.push(Finding::new(at("password_hash"), msg));
        }
    }
    let open = token.is_none() && cfg.supervisors.is_empty();
    let demo = token == Some(DEMO_TOKEN_HASH)
        || cfg
            .supervisors
            .iter()
            .any(|s| s.password_hash == DEMO_SUPERVISOR_HASH);
    if (open || demo) && !cfg.http.listen.ip().is_loopback() {
        let why = if open {
            "no admin is configured ([http] admin_token_hash or [[supervisors]]), so every \
             HTTP route is open"
        } else {
            "the published demo supervisor password or admin token is in use"
        };
        let msg = format!(
            "http.listen: {} is not a loopback address, but {why}",
            cfg.http.listen
        );
        out.push(Finding::new(loc.near(&[Key("http"), Key("listen")]), msg));
    }
}
