//! Tests of loading and validating configuration: each rule reports at the
//! exact line of the key an admin has to fix.

use super::*;
use std::net::SocketAddr;

/// Diagnostics of `text` as (line, message), or a panic if it is accepted.
fn diags(text: &str) -> Vec<Diagnostic> {
    match Config::from_toml(text, "test.toml") {
        Ok(cfg) => panic!("accepted: {cfg:?}"),
        Err(ConfigError::Invalid(d)) => d,
        Err(e) => panic!("unexpected error {e}"),
    }
}

/// The single diagnostic's line, checking its message mentions `needle`.
fn one_at(text: &str, needle: &str) -> usize {
    let d = diags(text);
    assert_eq!(d.len(), 1, "expected one diagnostic, got {d:?}");
    assert!(d[0].message.contains(needle), "{:?} lacks {needle:?}", d[0]);
    d[0].line
}

const SEATS_OK: &str = "[[seat]]\nuser = \"2001\"\npassword = \"s3cret\"\n";

#[test]
fn embedded_default_parses_and_holds_the_demo_contract() {
    let cfg = Config::load(None).expect("default config");
    assert_eq!(
        cfg,
        Config::from_toml(DEFAULT_CONFIG, DEFAULT_ORIGIN).unwrap()
    );
    let users: Vec<_> = cfg.seat.iter().map(|s| s.user.as_str()).collect();
    assert_eq!(users, ["1001", "1002", "1003"]);
    for s in &cfg.seat {
        assert_eq!(s.password, format!("demo{}", s.user));
        assert_eq!(s.skills, ["support"]);
        assert!(s.auto_ready);
    }
    let sip: SocketAddr = "127.0.0.1:5060".parse().unwrap();
    assert_eq!(cfg.sip.udp, [sip]);
    assert_eq!(cfg.sip.tcp, [sip]);
    assert_eq!(cfg.http.listen, "127.0.0.1:8080".parse().unwrap());
}

#[test]
fn empty_file_is_valid_and_equals_the_default_without_seats() {
    let empty = Config::from_toml("", "empty.toml").unwrap();
    let mut default = Config::load(None).unwrap();
    default.seat.clear();
    default.queue.clear();
    default.service.clear();
    default.supervisors.clear();
    default.http.admin_token_hash = None;
    assert_eq!(empty, default);
    assert_eq!(empty, Config::default());
}

#[test]
fn database_path_joins_data_dir_and_database() {
    let cfg = Config::from_toml("[storage]\ndata_dir = \"/var/lib/softacd\"\n", "t").unwrap();
    assert_eq!(
        cfg.database_path(),
        Path::new("/var/lib/softacd/softacd.sqlite")
    );
    assert_eq!(
        Config::default().database_path(),
        Path::new("data/softacd.sqlite")
    );
}

#[test]
fn seat_defaults_skills_empty_and_auto_ready_true() {
    let cfg = Config::from_toml(SEATS_OK, "t").unwrap();
    assert_eq!(cfg.seat[0].skills, Vec::<String>::new());
    assert!(cfg.seat[0].auto_ready);
}

#[test]
fn unknown_key_is_rejected_at_its_line() {
    let text = "[sip]\ndomain = \"x\"\n\n[registrar]\nrelm = \"typo\"\n";
    assert_eq!(one_at(text, "relm"), 5);
}

#[test]
fn unknown_table_and_unknown_seat_key_are_rejected() {
    assert_eq!(
        one_at("[log]\nlevel = \"info\"\n[sipp]\nudp = []\n", "sipp"),
        3
    );
    let text = format!("{SEATS_OK}skill = [\"x\"]\n");
    assert_eq!(one_at(&text, "skill"), 4);
}

#[test]
fn syntax_error_has_line_and_column() {
    let d = diags("[sip]\ndomain = \"a\"\nuser_agent = = 3\n");
    assert_eq!((d[0].origin.as_str(), d[0].line), ("test.toml", 3));
    assert!(d[0].col > 1);
}

#[test]
fn wrong_type_is_rejected_at_its_line() {
    let text = "[sip]\n\nmax_transactions = \"many\"\n";
    assert_eq!(diags(text)[0].line, 3);
}

#[test]
fn missing_seat_password_is_an_error() {
    assert!(diags("[[seat]]\nuser = \"2001\"\n")[0]
        .message
        .contains("password"));
}

#[test]
fn every_bad_socket_address_is_reported() {
    let text = "[sip]\nudp = [\"127.0.0.1:5060\",\n  \"nonsense\"]\ntcp = [\"1.2.3.4\"]\n[http]\nlisten = \"localhost:80\"\n";
    let d = diags(text);
    let lines: Vec<_> = d.iter().map(|d| d.line).collect();
    assert_eq!(lines, [3, 4, 6], "{d:?}");
    assert!(d[0]
        .message
        .contains("sip.udp[1]: `nonsense` is not a socket address"));
    assert!(d[1].message.contains("sip.tcp[0]"));
    assert!(d[2].message.contains("http.listen"));
}

#[test]
fn bad_address_beside_unknown_key_reports_both() {
    let text = "[sip]\nbogus = 1\nudp = [\"x\"]\n";
    let lines: Vec<_> = diags(text).iter().map(|d| d.line).collect();
    assert_eq!(lines, [3, 2]);
}

#[test]
fn duplicate_seat_user_points_at_the_second() {
    let text = format!("{SEATS_OK}\n[[seat]]\nuser = \"2001\"\npassword = \"other\"\n");
    assert_eq!(one_at(&text, "duplicate seat `2001`"), 6);
}

#[test]
fn empty_password_is_an_error() {
    let text = "[[seat]]\nuser = \"2001\"\npassword = \"\"\n";
    assert_eq!(one_at(text, "empty password"), 3);
}

#[test]
fn seat_user_must_be_a_sip_user_token() {
    let text = "[[seat]]\npassword = \"x\"\nuser = \"ag ent@x\"\n";
    assert_eq!(one_at(text, "not a SIP user token"), 3);
    let empty = "[[seat]]\nuser = \"\"\npassword = \"x\"\n";
    assert_eq!(one_at(empty, "not a SIP user token"), 2);
    let ok = "[[seat]]\nuser = \"alice.smith-2+x\"\npassword = \"x\"\n";
    assert!(Config::from_toml(ok, "t").is_ok());
}

#[test]
fn min_expires_above_max_expires() {
    let text = "[registrar]\nrealm = \"r\"\nmin_expires = 7200\n";
    assert_eq!(one_at(text, "min_expires (7200) is greater"), 3);
}

#[test]
fn max_expires_below_default_min_points_at_max() {
    let text = "[registrar]\nmax_expires = 30\n";
    assert_eq!(
        one_at(text, "is greater than registrar.max_expires (30)"),
        2
    );
}

#[test]
fn default_expires_outside_bounds() {
    let text = "[registrar]\nmin_expires = 60\nmax_expires = 600\n\ndefault_expires = 3600\n";
    assert_eq!(one_at(text, "default_expires (3600) is outside"), 5);
}

#[test]
fn t1_above_t2() {
    let text = "[sip.timers]\nt2_ms = 4000\nt1_ms = 5000\n";
    assert_eq!(one_at(text, "t1_ms (5000) is greater"), 3);
}

#[test]
fn t2_alone_below_default_t1_points_at_t2() {
    assert_eq!(one_at("[sip.timers]\n\nt2_ms = 100\n", "t2_ms (100)"), 3);
}

#[test]
fn log_format_must_be_text_or_json() {
    let text = "[log]\nlevel = \"info\"\nformat = \"xml\"\n";
    let line = one_at(text, "xml");
    assert_eq!(line, 3);
    let json = Config::from_toml("[log]\nformat = \"json\"\n", "t").unwrap();
    assert_eq!(json.log.format, LogFormat::Json);
}

#[test]
fn log_level_must_be_an_env_filter() {
    let text = "[log]\nformat = \"text\"\nlevel = \"softacd=loud\"\n";
    assert_eq!(one_at(text, "not a tracing filter"), 3);
    let ok = "[log]\nlevel = \"info,softacd::sip=debug\"\n";
    assert!(Config::from_toml(ok, "t").is_ok());
}

#[test]
fn demo_password_forbids_non_loopback_listeners() {
    let text = "[sip]\nudp = [\"127.0.0.1:5060\", \"0.0.0.0:5060\"]\ntcp = []\n\
                [http]\nlisten = \"192.0.2.7:8080\"\n\
                admin_token_hash = \"{OWN_TOKEN_HASH}\"\n\
                [[seat]]\nuser = \"1001\"\npassword = \"demo1001\"\n";
    let text = &text.replace("{OWN_TOKEN_HASH}", OWN_TOKEN_HASH);
    let d = diags(text);
    let lines: Vec<_> = d.iter().map(|d| d.line).collect();
    assert_eq!(lines, [2, 5], "{d:?}");
    assert!(d[0]
        .message
        .contains("0.0.0.0:5060 is not a loopback address"));
    assert!(d[0].message.contains("1001"));
    assert!(d[1].message.contains("http.listen"));
}

#[test]
fn changed_passwords_allow_public_listeners() {
    let text = "[sip]\nudp = [\"0.0.0.0:5060\"]\ntcp = [\"[::]:5060\"]\n\
                [http]\nlisten = \"0.0.0.0:8080\"\n\
                admin_token_hash = \"{OWN_TOKEN_HASH}\"\n\
                [[seat]]\nuser = \"1001\"\npassword = \"n0t-demo\"\n";
    let text = &text.replace("{OWN_TOKEN_HASH}", OWN_TOKEN_HASH);
    assert!(Config::from_toml(text, "t").is_ok());
    let ipv6_loopback =
        "[sip]\nudp = [\"[::1]:5060\"]\n[[seat]]\nuser = \"1\"\npassword = \"demo1\"\n";
    assert!(Config::from_toml(ipv6_loopback, "t").is_ok());
}

#[test]
fn all_semantic_errors_are_collected_in_file_order() {
    let text = "[sip.timers]\nt1_ms = 9000\n[registrar]\nmin_expires = 9999\n\
                [[seat]]\nuser = \"a\"\npassword = \"\"\n";
    let lines: Vec<_> = diags(text).iter().map(|d| d.line).collect();
    assert_eq!(lines, [2, 4, 7]);
}

#[test]
fn display_prints_file_line_col_per_diagnostic() {
    let text = "[sip]\nudp = [\"x\"]\n[http]\n  listen = \"y\"\n";
    let shown = Config::from_toml(text, "my.toml").unwrap_err().to_string();
    let lines: Vec<_> = shown.lines().collect();
    assert_eq!(lines.len(), 2, "{shown}");
    assert!(lines[0].starts_with("my.toml:2:8: sip.udp[0]"), "{shown}");
    assert!(lines[1].starts_with("my.toml:4:12: http.listen"), "{shown}");
}

#[test]
fn load_reads_a_file_and_reports_missing_files() {
    let dir = std::env::temp_dir().join(format!("softacd-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    std::fs::write(&path, "[registrar]\nmin_expires = 0\nbad = 1\n").unwrap();
    let err = Config::load(Some(&path)).unwrap_err().to_string();
    assert!(
        err.starts_with(&format!("{}:3:1: ", path.display())),
        "{err}"
    );
    std::fs::remove_file(&path).unwrap();
    let missing = Config::load(Some(&path)).unwrap_err();
    assert!(matches!(missing, ConfigError::Io { .. }));
    assert!(missing.to_string().contains("c.toml"));
}

#[test]
fn timers_convert_to_durations() {
    let t = Config::default().sip.timers;
    assert_eq!(t.t1().as_millis(), 500);
    assert_eq!(t.t2().as_millis(), 4000);
    assert_eq!(t.t4().as_millis(), 5000);
}

mod never_panics {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any text is either a configuration or diagnostics, never a panic,
        /// and every diagnostic points inside the text.
        #[test]
        fn arbitrary_text(text in "\\PC{0,200}") {
            check(&text);
        }

        /// The default file with a slice cut out or a line duplicated.
        #[test]
        fn mangled_default(cut in 0usize..DEFAULT_CONFIG.len(), len in 0usize..40, dup in any::<bool>()) {
            let bytes = DEFAULT_CONFIG.as_bytes();
            let end = (cut + len).min(bytes.len());
            let mut mangled = bytes[..cut].to_vec();
            if dup {
                mangled.extend_from_slice(&bytes[cut..end]);
                mangled.extend_from_slice(&bytes[cut..end]);
            }
            mangled.extend_from_slice(&bytes[end..]);
            check(&String::from_utf8_lossy(&mangled));
        }
    }

    fn check(text: &str) {
        if let Err(ConfigError::Invalid(d)) = Config::from_toml(text, "p.toml") {
            assert!(!d.is_empty());
            let lines = text.split('\n').count();
            for diag in d {
                assert!(
                    diag.line >= 1 && diag.line <= lines,
                    "{diag} beyond {lines} lines"
                );
                assert!(diag.col >= 1);
            }
        }
    }
}

#[test]
fn embedded_default_has_the_demo_service_and_queue() {
    let cfg = Config::load(None).unwrap();
    let services: Vec<(&str, &str)> = cfg
        .service
        .iter()
        .map(|s| (s.number.as_str(), s.script.as_str()))
        .collect();
    assert_eq!(
        services,
        [
            ("100", "main"),
            ("101", "after-hours"),
            ("102", "vip"),
            ("103", "voicemail"),
            ("104", "callback")
        ]
    );
    let queues: Vec<&str> = cfg.queue.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(queues, ["support", "vip"]);
    assert!(cfg.ivr.http_allow.is_empty(), "only loopback by default");
    assert_eq!(cfg.ivr.voicemail_max_files, 10_000);
}

#[test]
fn duplicate_queue_and_service_and_bad_script_name_are_errors_at_their_lines() {
    let text = "[[queue]]\nname = \"a\"\n[[queue]]\nname = \"a\"\n[[service]]\nnumber = \"100\"\nscript = \"../etc\"\n";
    let Err(ConfigError::Invalid(d)) = Config::from_toml(text, "q.toml") else {
        panic!("expected errors")
    };
    let lines: Vec<usize> = d.iter().map(|x| x.line).collect();
    assert_eq!(lines, vec![4, 7], "{d:?}");
    assert!(d[0].message.contains("duplicate queue"));
    assert!(d[1].message.contains("not a script name"));
}

#[test]
fn recording_is_refused_in_direct_media_mode_at_its_line() {
    let text = "[media]\nmode = \"direct\"\n\n[recording]\nenabled = true\n";
    assert_eq!(one_at(text, "media.mode = \"relay\""), 5);
    let ok = Config::from_toml("[recording]\nenabled = true\nmode = \"stereo\"\n", "t").unwrap();
    assert_eq!(ok.recording.mode, RecordingMode::Stereo);
    assert!(!Config::default().recording.enabled);
    assert!(diags("[recording]\nmode = \"surround\"\n")[0]
        .message
        .contains("surround"));
}

#[test]
fn dtmf_paths_default_to_all_three_and_can_be_narrowed() {
    let all = crate::media::DtmfPaths::default();
    let cfg = Config::from_toml("", "test.toml").expect("empty file");
    assert_eq!(cfg.media.dtmf_paths(), all);
    let cfg = Config::from_toml("[media]\ndtmf = [\"info\"]\n", "test.toml").expect("info only");
    let only_info = crate::media::DtmfPaths {
        rfc4733: false,
        inband: false,
        info: true,
    };
    assert_eq!(cfg.media.dtmf_paths(), only_info);
}

#[test]
fn unknown_dtmf_path_is_rejected_at_its_line() {
    let text = "[media]\ndir = \"media\"\ndtmf = [\"rfc4733\", \"sip-info\"]\n";
    assert_eq!(one_at(text, "sip-info"), 3);
}

#[test]
fn media_codecs_must_be_known_and_listed_once() {
    let cfg = Config::from_toml("[media]\ncodecs = [\"opus\", \"PCMA\"]\n", "t.toml").unwrap();
    assert_eq!(cfg.media.codecs, ["opus", "PCMA"]);
    let text = "[media]\ncodecs = [\n  \"PCMU\",\n  \"G729\",\n]\n";
    assert_eq!(one_at(text, "unknown codec `G729`"), 4);
    let text = "[media]\ncodecs = [\"PCMU\", \"pcmu\"]\n";
    assert_eq!(one_at(text, "listed twice"), 2);
    assert_eq!(one_at("[media]\ncodecs = []\n", "media.codecs: empty"), 2);
}

#[test]
fn agent_password_hash_must_be_argon2_phc() {
    let text =
        "[[seat]]\nuser = \"2001\"\npassword = \"s3cret\"\nagent_password_hash = \"s3cret\"\n";
    assert_eq!(one_at(text, "agent_password_hash"), 4);
    let pbkdf2 = "[[seat]]\nuser = \"2001\"\npassword = \"s3cret\"\n\
                  agent_password_hash = \"$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2doYXNoaGFzaA\"\n";
    assert_eq!(one_at(pbkdf2, "want argon2id"), 4);
}

#[test]
fn embedded_demo_seats_sign_in_to_the_desk_with_their_demo_passwords() {
    let cfg = Config::load(None).expect("default config");
    assert_eq!(cfg.seat.len(), 3);
    for seat in &cfg.seat {
        let hash = seat
            .agent_password_hash
            .as_deref()
            .expect("demo seat has a hash");
        assert!(crate::http::desk::password::verify(
            &seat.demo_password(),
            hash
        ));
        assert!(!crate::http::desk::password::verify("wrong", hash));
    }
}

#[test]
fn desk_codes_must_be_unique_and_non_empty() {
    let text = "[desk]\nbreak_reasons = [\"lunch\", \"\"]\ndispositions = [\"done\", \"done\"]\n";
    let d = diags(text);
    assert_eq!(d.len(), 2, "{d:?}");
    assert!(
        d[0].message.contains("desk.break_reasons") && d[0].line == 2,
        "{d:?}"
    );
    assert!(
        d[1].message.contains("listed twice") && d[1].line == 3,
        "{d:?}"
    );
}

#[test]
fn queue_strategy_and_escalation_parse_into_their_steps() {
    let text = "[[queue]]\nname = \"a\"\nstrategy = \"round-robin\"\ndefault_aht_s = 90\nescalate = [{ after_s = 30, min_level = 1 }, { after_s = 60, queue = \"b\" }]\n[[queue]]\nname = \"b\"\n";
    let cfg = Config::from_toml(text, "q.toml").expect("valid");
    let a = &cfg.queue[0];
    assert_eq!(a.strategy, StrategyConfig::RoundRobin);
    assert_eq!(a.default_aht_s, 90);
    assert_eq!(
        a.escalate,
        vec![
            EscalateStep {
                after_s: 30,
                min_level: Some(1),
                queue: None
            },
            EscalateStep {
                after_s: 60,
                min_level: None,
                queue: Some("b".into())
            },
        ]
    );
    assert_eq!(cfg.queue[1].strategy, StrategyConfig::LongestIdle);
}

#[test]
fn unknown_strategy_is_an_error_at_its_line() {
    let text = "[[queue]]\nname = \"a\"\nstrategy = \"ring-all\"\n";
    assert_eq!(one_at(text, "ring-all"), 3);
}

#[test]
fn bad_escalation_steps_are_reported_at_their_lines() {
    let text = "[[queue]]\nname = \"a\"\ndefault_aht_s = 0\n\
        [[queue.escalate]]\nafter_s = 30\nmin_level = 11\n\
        [[queue.escalate]]\nafter_s = 30\nqueue = \"a\"\n\
        [[queue.escalate]]\nafter_s = 90\n";
    let d = diags(text);
    let got: Vec<(usize, bool)> = d.iter().map(|x| (x.line, x.col > 0)).collect();
    assert_eq!(
        got,
        vec![(3, true), (6, true), (8, true), (9, true), (11, true)],
        "{d:?}"
    );
    assert!(d[0].message.contains("default_aht_s"));
    assert!(d[1].message.contains("11 is outside 1..=10"));
    assert!(d[2].message.contains("after the step before (30)"));
    assert!(d[3].message.contains("`a` is not another configured queue"));
    assert!(d[4].message.contains("needs `min_level`, `queue` or both"));
}

#[test]
fn callback_trunk_needs_the_number_and_an_allowed_host() {
    let cfg = Config::from_toml("", "t").expect("defaults");
    assert_eq!(cfg.cti.callback_trunk, "sip:{number}@127.0.0.1:5080");
    assert_eq!((cfg.cti.callback_retries, cfg.cti.max_callbacks), (2, 1000));
    let text = "[cti]\ncallback_trunk = \"sip:{number}@192.0.2.7\"\n";
    assert_eq!(one_at(text, "not in [ivr] transfer_allow"), 2);
    let allowed = "[cti]\ncallback_trunk = \"sip:{number}@192.0.2.7\"\n\n[ivr]\ntransfer_allow = [\"192.0.2.7\"]\n";
    assert!(Config::from_toml(allowed, "t").is_ok());
    assert_eq!(
        one_at(
            "[cti]\ncallback_trunk = \"sip:desk@127.0.0.1\"\n",
            "needs `{number}`"
        ),
        2
    );
    assert_eq!(
        one_at("[cti]\ncallback_retries = 11\n", "outside 0..=10"),
        2
    );
    assert_eq!(one_at("[cti]\nmax_callbacks = 0\n", "max_callbacks"), 2);
}

/// An Argon2 hash that is not one of the shipped demo credentials.
const OWN_TOKEN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Zw6kUthizasO+TUtyDeKgQ$jxJ60dyG2Wx/6qMTgbVBoiBc42MokiBdtdUq8QEvKMc";

#[test]
fn the_default_ships_a_demo_supervisor_and_token_on_loopback_only() {
    let cfg = Config::load(None).unwrap();
    assert_eq!(cfg.supervisors.len(), 1);
    assert_eq!(cfg.supervisors[0].id, "supervisor");
    assert!(cfg.http.admin_token_hash.is_some());
    assert!(!cfg.http.require_auth_for_reads);
    assert_eq!(cfg.queue[0].service_level_s, 20);
    assert_eq!(cfg.cti.short_abandon_s, 5);
    let public = DEFAULT_CONFIG.replace("listen = \"127.0.0.1:8080\"", "listen = \"0.0.0.0:8080\"");
    let d = diags(&public);
    assert!(
        d.iter().any(|d| d
            .message
            .contains("demo supervisor password or admin token")),
        "{d:?}"
    );
}

#[test]
fn without_any_admin_the_http_listener_must_be_loopback() {
    let text = "[http]\nlisten = \"0.0.0.0:8080\"\n";
    assert_eq!(one_at(text, "no admin is configured"), 2);
    let with_token =
        format!("[http]\nlisten = \"0.0.0.0:8080\"\nadmin_token_hash = \"{OWN_TOKEN_HASH}\"\n");
    assert!(Config::from_toml(&with_token, "t").is_ok());
}

#[test]
fn supervisors_need_argon2_hashes_and_unique_ids_apart_from_agents() {
    let text = format!(
        "[[seat]]\nuser = \"1001\"\npassword = \"x1\"\nagent_password_hash = \"{OWN_TOKEN_HASH}\"\n\
         [[supervisors]]\nid = \"sue\"\npassword_hash = \"plain\"\n\
         [[supervisors]]\nid = \"sue\"\npassword_hash = \"{OWN_TOKEN_HASH}\"\n\
         [[supervisors]]\nid = \"1001\"\npassword_hash = \"{OWN_TOKEN_HASH}\"\nrole = \"admin\"\n\
         [http]\nsession_ttl_s = 5\nadmin_token_hash = \"nope\"\n"
    );
    let d = diags(&text);
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(d.len(), 5, "{msgs:?}");
    assert!(msgs
        .iter()
        .any(|m| m.contains("supervisors.password_hash: `sue`")));
    assert!(msgs.iter().any(|m| m.contains("`sue` is listed twice")));
    assert!(msgs.iter().any(|m| m.contains("`1001` is also a seat")));
    assert!(msgs.iter().any(|m| m.starts_with("http.session_ttl_s")));
    assert!(msgs.iter().any(|m| m.starts_with("http.admin_token_hash")));
    let bad_role = "[[supervisors]]\nid = \"a\"\npassword_hash = \"x\"\nrole = \"root\"\n";
    assert!(Config::from_toml(bad_role, "t").is_err());
}

#[test]
fn cti_capacity_defaults_and_bad_values_point_at_their_key() {
    let d = Config::default();
    assert_eq!(
        (
            d.cti.capacity.voice,
            d.cti.capacity.chat,
            d.cti.capacity.email
        ),
        (1, 3, 5)
    );
    assert!(!d.cti.chat_during_voice);
    let text = "[sip]\n\n[cti]\nchat_during_voice = true\ncapacity = { voice = 2, chat = 4 }\n";
    assert_eq!(one_at(text, "cti.capacity.voice: 2 is outside 0..=1"), 5);
    let text = "[cti]\ncapacity = { chat = 4, sms = 101 }\n";
    assert_eq!(one_at(text, "cti.capacity.sms"), 2);
    let text = "[cti]\ncapacity = { fax = 1 }\n";
    assert_eq!(one_at(text, "fax"), 2);
}
