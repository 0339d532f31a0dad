//! The server config the call-flow tests share (issue 3's demo contract):
//! the harness's seats, service 100 running ivr-scripts/main.toml, queue
//! "support", the repository's prompts and scripts, and the media mode.

use std::path::Path;

use crate::common::TestServer;

/// The `[media]` key naming the media mode (`relay` is the default).
pub const MEDIA_MODE_KEY: &str = "mode";

/// The test config: the harness's seats plus the demo's service 100, queue
/// "support" (1 s wrap-up), prompts and scripts from the repository, and
/// `mode` for the media (the key is written only for a mode other than the
/// default relay). Sections the harness's default config already has are
/// extended, not repeated, so this keeps working when it gains them.
pub fn flow_config(data_dir: &Path, mode: &str) -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut cfg = TestServer::default_config(data_dir);
    let media_dir = format!("dir = \"{}\"", root.join("media").display());
    set_keys(&mut cfg, "[media]", &["dir =", &media_dir]);
    if mode != "relay" {
        let line = format!("{MEDIA_MODE_KEY} = \"{mode}\"");
        set_keys(
            &mut cfg,
            "[media]",
            &[&format!("{MEDIA_MODE_KEY} ="), &line],
        );
    }
    let scripts = format!("scripts_dir = \"{}\"", root.join("ivr-scripts").display());
    set_keys(&mut cfg, "[ivr]", &["scripts_dir =", &scripts]);
    if !cfg.contains("[[service]]") {
        cfg.push_str("\n[[service]]\nnumber = \"100\"\nscript = \"main\"\n");
    }
    if !cfg.contains("[[queue]]") {
        cfg.push_str("\n[[queue]]\nname = \"support\"\nwrap_up_s = 1\nno_agents = \"wait\"\n");
    }
    cfg
}

/// Puts `line` (`keys[1]`) into `table`, unless a line starting with
/// `keys[0]` is already there; appends the table if the config lacks it.
pub fn set_keys(cfg: &mut String, table: &str, keys: &[&str; 2]) {
    let [prefix, line] = keys;
    let header = format!("{table}\n");
    match cfg.find(&header) {
        Some(at) => {
            let body_start = at + header.len();
            let body_end = cfg[body_start..]
                .find("\n[")
                .map_or(cfg.len(), |i| body_start + i + 1);
            if !cfg[body_start..body_end]
                .lines()
                .any(|l| l.trim_start().starts_with(prefix))
            {
                cfg.insert_str(body_start, &format!("{line}\n"));
            }
        }
        None => cfg.push_str(&format!("\n{header}{line}\n")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_sections_are_extended_not_repeated() {
        let dir = Path::new("/tmp/x");
        let cfg = flow_config(dir, "direct");
        for table in ["[media]\n", "[ivr]\n", "[[service]]\n", "[[queue]]\n"] {
            assert_eq!(cfg.matches(table).count(), 1, "{table} in:\n{cfg}");
        }
        assert!(cfg.contains("mode = \"direct\""), "{cfg}");
        assert!(!flow_config(dir, "relay").contains("mode ="));
        let mut with = "[media]\ndir = \"m\"\n\n[log]\n".to_string();
        set_keys(&mut with, "[media]", &["dir =", "dir = \"x\""]);
        set_keys(&mut with, "[media]", &["mode =", "mode = \"direct\""]);
        assert_eq!(with, "[media]\nmode = \"direct\"\ndir = \"m\"\n\n[log]\n");
        let parsed: Result<toml::Table, _> = cfg.parse();
        assert!(parsed.is_ok(), "{parsed:?}\n{cfg}");
    }
}
