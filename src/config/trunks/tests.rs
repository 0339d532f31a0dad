//! `[[trunk]]` loading and its errors, each at the line an admin must fix.

use crate::config::{Config, ConfigError, Diagnostic};

fn diags(text: &str) -> Vec<Diagnostic> {
    match Config::from_toml(text, "trunks.toml") {
        Ok(cfg) => panic!("accepted: {cfg:?}"),
        Err(ConfigError::Invalid(d)) => d,
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// (line, message) of each diagnostic, in file order.
fn lines(text: &str) -> Vec<(usize, String)> {
    diags(text)
        .into_iter()
        .map(|d| (d.line, d.message))
        .collect()
}

const CARRIER: &str = r#"[[trunk]]
name = "carrier"
sources = ["192.0.2.10", "198.51.100.0/24", "2001:db8::/32"]
script = "partner"
services = { "5551000" = "main", "5551001" = "vip" }
"#;

#[test]
fn a_trunk_parses_with_its_sources_script_and_services() {
    let cfg = Config::from_toml(CARRIER, "t").unwrap();
    let t = &cfg.trunk[0];
    assert_eq!(t.name, "carrier");
    assert_eq!(t.sources.len(), 3);
    assert_eq!(t.script.as_deref(), Some("partner"));
    assert_eq!(t.services["5551000"], "main");
    assert_eq!(cfg.required_flows(), ["main", "partner", "vip"]);
    let bare = Config::from_toml("[[trunk]]\nname = \"b\"\nsources = [\"::1\"]\n", "t").unwrap();
    assert_eq!(bare.trunk[0].script, None);
    assert!(bare.trunk[0].services.is_empty());
}

#[test]
fn the_shipped_config_has_no_active_trunk_and_its_flows_are_required() {
    let cfg = Config::load(None).unwrap();
    assert!(cfg.trunk.is_empty(), "the demo contract has no trunk");
    assert_eq!(
        cfg.required_flows(),
        ["after-hours", "callback", "main", "vip", "voicemail"]
    );
}

#[test]
fn bad_names_and_duplicates_are_reported_at_their_lines() {
    let text = "[[trunk]]\nname = \"a b\"\nsources = [\"10.0.0.1\"]\n\
                [[trunk]]\nname = \"x\"\nsources = [\"10.0.0.2\"]\n\
                [[trunk]]\nname = \"x\"\nsources = [\"10.0.0.3\"]\n";
    let d = lines(text);
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0].0, 2);
    assert!(d[0].1.contains("`a b` must be"), "{d:?}");
    assert_eq!(d[1].0, 8);
    assert!(d[1].1.contains("duplicate trunk `x`"), "{d:?}");
}

#[test]
fn bad_sources_are_reported_at_their_element() {
    let text = "[[trunk]]\nname = \"c\"\nsources = [\n  \"10.0.0.1\",\n  \"carrier.example\",\n  \"10.0.0.1/8\",\n  \"10.0.0.0/40\",\n]\n\
                [[trunk]]\nname = \"empty\"\nsources = []\n";
    let d = lines(text);
    let at: Vec<usize> = d.iter().map(|x| x.0).collect();
    assert_eq!(at, [5, 6, 7, 11], "{d:?}");
    assert!(d[0].1.contains("not an IP address or CIDR"), "{d:?}");
    assert!(d[1].1.contains("host bits"), "{d:?}");
    assert!(d[2].1.contains("longer than 32"), "{d:?}");
    assert!(d[3].1.contains("lists no source"), "{d:?}");
}

#[test]
fn a_source_in_two_trunks_is_an_error_at_the_second() {
    let text = "[[trunk]]\nname = \"a\"\nsources = [\"198.51.100.0/24\"]\n\n\
                [[trunk]]\nname = \"b\"\nsources = [\"203.0.113.1\", \"198.51.100.7\"]\n";
    let d = lines(text);
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].0, 7);
    assert!(
        d[0].1
            .contains("`198.51.100.7` overlaps 198.51.100.0/24 of trunk `a`"),
        "{d:?}"
    );
    let v4_v6 = "[[trunk]]\nname = \"a\"\nsources = [\"::1\"]\n[[trunk]]\nname = \"b\"\nsources = [\"127.0.0.1\"]\n";
    assert!(Config::from_toml(v4_v6, "t").is_ok());
    let same_trunk = "[[trunk]]\nname = \"a\"\nsources = [\"10.0.0.0/8\", \"10.1.0.0/16\"]\n";
    assert!(Config::from_toml(same_trunk, "t").is_ok());
}

#[test]
fn scripts_and_service_numbers_follow_the_service_rules() {
    let text = "[[trunk]]\nname = \"c\"\nsources = [\"10.0.0.1\"]\nscript = \"../etc/passwd\"\n\
                services = { \"55 1\" = \"main\", \"5552\" = \"a/b\" }\n";
    let d = lines(text);
    assert_eq!(d.len(), 3, "{d:?}");
    assert_eq!(d[0].0, 4);
    assert!(d[0].1.contains("trunk.script"), "{d:?}");
    assert!(d.iter().skip(1).all(|x| x.0 == 5), "{d:?}");
    assert!(d.iter().any(|x| x.1.contains("`55 1` is not a SIP user")));
    assert!(d.iter().any(|x| x.1.contains("`a/b` is not a script name")));
}

#[test]
fn unknown_trunk_keys_are_refused() {
    let d = diags("[[trunk]]\nname = \"c\"\nsources = [\"10.0.0.1\"]\ncodec = \"PCMU\"\n");
    assert_eq!(d[0].line, 4);
    assert!(d[0].message.contains("codec"), "{d:?}");
    let d = diags("[[trunk]]\nsources = [\"10.0.0.1\"]\n");
    assert!(d[0].message.contains("name"), "{d:?}");
}
