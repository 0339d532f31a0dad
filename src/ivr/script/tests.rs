//! Loader tests: the shipped flow loads, and every rule reports the exact
//! line of the offending key or value.

use super::*;

const PROMPTS: &[&str] = &[
    "welcome", "menu", "info", "invalid", "timeout", "queue", "hold", "goodbye",
];

fn known(name: &str) -> bool {
    PROMPTS.contains(&name)
}

/// Errors of `text` as `line:col: message`, asserting it failed.
fn errors(text: &str) -> Vec<String> {
    match load_str(text, "t.toml", &known) {
        Ok(_) => panic!("script loaded but should not have"),
        Err(ScriptErrors(list)) => list
            .iter()
            .map(|d| format!("{}:{}: {}", d.line, d.col, d.message))
            .collect(),
    }
}

/// The single error of `text`, asserting its line and a piece of its message.
fn one_error(text: &str, line: usize, needle: &str) {
    let all = errors(text);
    assert_eq!(all.len(), 1, "expected one error, got {all:#?}");
    let first = &all[0];
    assert!(
        first.starts_with(&format!("{line}:")),
        "wrong line: {first}"
    );
    assert!(first.contains(needle), "`{needle}` not in: {first}");
}

/// A minimal valid flow; tests append or replace lines.
const BASE: &str = r#"name = "t"
start = "hello"
[nodes.hello]
type = "play"
prompts = ["welcome"]
next = "ask"
[nodes.ask]
type = "menu"
prompts = ["menu"]
on_fail = "bye"
[nodes.ask.choices]
"1" = "bye"
[nodes.bye]
type = "hangup"
"#;

fn base_with(from: &str, to: &str) -> String {
    assert!(BASE.contains(from), "fixture lacks {from}");
    BASE.replacen(from, to, 1)
}

#[test]
fn shipped_main_loads_against_media_dir() {
    let media = Path::new(env!("CARGO_MANIFEST_DIR")).join("media");
    let exists = |name: &str| media.join(format!("{name}.wav")).is_file();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-scripts");
    let all = load_dir(&dir, &exists).unwrap_or_else(|e| panic!("{e}"));
    let main = all.get("main").expect("main flow");
    assert_eq!(main.start, "welcome");
    assert_eq!(main.version.len(), 12);
    let Some(Node::Menu {
        choices,
        max_tries,
        timeout_ms,
        ..
    }) = main.nodes.get("menu")
    else {
        panic!("menu node missing");
    };
    assert_eq!(choices.get(&'1').map(String::as_str), Some("info"));
    assert_eq!(choices.get(&'0').map(String::as_str), Some("agent"));
    assert_eq!((*max_tries, *timeout_ms), (3, 5000));
    let Some(Node::Queue {
        queue,
        skills,
        hold_music,
        ..
    }) = main.nodes.get("agent")
    else {
        panic!("agent node missing");
    };
    assert_eq!((queue.as_str(), hold_music.as_str()), ("support", "hold"));
    assert_eq!(skills, &vec!["support".to_owned()]);
}

#[test]
fn defaults_and_version_hash() {
    let script = load_str(BASE, "t.toml", &known).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        script.nodes.get("hello"),
        Some(&Node::Play {
            prompts: vec!["welcome".into()],
            interruptible: true,
            next: "ask".into()
        })
    );
    assert_eq!(
        script.nodes.get("bye"),
        Some(&Node::Hangup {
            cause: "normal".into()
        })
    );
    let Some(Node::Menu {
        timeout_ms,
        max_tries,
        invalid_prompts,
        ..
    }) = script.nodes.get("ask")
    else {
        panic!("menu missing");
    };
    assert_eq!((*timeout_ms, *max_tries), (5000, 3));
    assert!(invalid_prompts.is_empty());
    let other = load_str(&format!("{BASE}# edited\n"), "t.toml", &known).unwrap();
    assert_ne!(script.version, other.version, "version follows the bytes");
    assert!(script.version.chars().all(|c| c.is_ascii_hexdigit()));
}

#[test]
fn syntax_error_has_its_line() {
    one_error(&base_with("next = \"ask\"", "next = \"ask"), 6, "");
}

#[test]
fn unknown_top_level_key() {
    let text = BASE.replacen("start = \"hello\"\n", "start = \"hello\"\ncolour = 1\n", 1);
    one_error(&text, 3, "unknown key `colour`");
}

#[test]
fn unknown_node_key_names_node_and_key() {
    one_error(
        &base_with("next = \"ask\"", "next = \"ask\"\nloud = true"),
        7,
        "node `hello`: unknown key `loud`",
    );
}

#[test]
fn unknown_node_type() {
    one_error(
        &base_with("type = \"hangup\"", "type = \"dial\""),
        14,
        "unknown node type `dial`",
    );
}

#[test]
fn wrong_value_type() {
    one_error(&base_with("next = \"ask\"", "next = 3"), 6, "node `hello`");
}

#[test]
fn missing_targets_each_at_their_value() {
    one_error(
        &base_with("start = \"hello\"", "start = \"nowhere\""),
        2,
        "`start` names missing node `nowhere`",
    );
    one_error(
        &base_with("next = \"ask\"", "next = \"nowhere\""),
        6,
        "`next` names missing node `nowhere`",
    );
    // `bye` stays reachable through the choice, so only the target is wrong.
    one_error(
        &base_with("on_fail = \"bye\"", "on_fail = \"gone\""),
        10,
        "`on_fail` names missing node `gone`",
    );
    let text = base_with("\"1\" = \"bye\"", "\"1\" = \"bye\"\n\"2\" = \"void\"");
    one_error(&text, 13, "`choice \"2\"` names missing node `void`");
    let queue = format!("{BASE}[nodes.q]\ntype = \"queue\"\nqueue = \"s\"\nhold_music = \"hold\"\non_timeout = \"later\"\n");
    let queue = queue.replacen("\"1\" = \"bye\"", "\"1\" = \"bye\"\n\"0\" = \"q\"", 1);
    one_error(&queue, 20, "`on_timeout` names missing node `later`");
}

#[test]
fn choice_keys_must_be_one_dtmf_key() {
    let text = base_with(
        "\"1\" = \"bye\"",
        "\"1\" = \"bye\"\n\"12\" = \"bye\"\n\"x\" = \"bye\"",
    );
    let all = errors(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    assert!(
        all[0].starts_with("13:1: choice `12` is not one DTMF key"),
        "{all:#?}"
    );
    assert!(
        all[1].starts_with("14:1: choice `x` is not one DTMF key"),
        "{all:#?}"
    );
    let ok = base_with(
        "\"1\" = \"bye\"",
        "\"1\" = \"bye\"\n\"#\" = \"bye\"\n\"D\" = \"bye\"",
    );
    assert!(load_str(&ok, "t.toml", &known).is_ok());
}

#[test]
fn unknown_prompt_is_named() {
    one_error(
        &base_with(
            "prompts = [\"welcome\"]",
            "prompts = [\"welcome\", \"hola\"]",
        ),
        5,
        "unknown prompt `hola`",
    );
}

#[test]
fn prompt_names_cannot_be_paths() {
    one_error(
        &base_with("prompts = [\"welcome\"]", "prompts = [\"../etc\"]"),
        5,
        "prompt name `../etc`",
    );
}

#[test]
fn unreachable_node_at_its_header() {
    let text = format!("{BASE}[nodes.lost]\ntype = \"hangup\"\n");
    one_error(&text, 15, "node `lost` is unreachable from `hello`");
}

#[test]
fn max_tries_and_timeout_ranges() {
    one_error(
        &base_with("on_fail = \"bye\"", "on_fail = \"bye\"\nmax_tries = 0"),
        11,
        "`max_tries` must be 1..=10, not 0",
    );
    one_error(
        &base_with("on_fail = \"bye\"", "on_fail = \"bye\"\ntimeout_ms = 0"),
        11,
        "`timeout_ms` must be 1..=60000, not 0",
    );
    one_error(
        &base_with("on_fail = \"bye\"", "on_fail = \"bye\"\ntimeout_ms = 60001"),
        11,
        "not 60001",
    );
    let fine = base_with("on_fail = \"bye\"", "on_fail = \"bye\"\ntimeout_ms = 60000");
    assert!(load_str(&fine, "t.toml", &known).is_ok());
}

#[test]
fn play_loop_without_input_is_an_error() {
    let text = r#"name = "t"
start = "a"
[nodes.a]
type = "play"
prompts = ["welcome"]
next = "b"
[nodes.b]
type = "play"
prompts = ["info"]
next = "a"
[nodes.bye]
type = "hangup"
"#;
    let all = errors(text);
    assert!(
        all.iter()
            .any(|e| e.starts_with("6:8: loop with no exit or input: a -> b -> a")),
        "{all:#?}"
    );
    assert!(
        all.iter()
            .any(|e| e.contains("no queue or hangup node is reachable")),
        "{all:#?}"
    );
}

#[test]
fn menu_cycles_are_fine_play_cycles_through_menus_too() {
    // hello -> ask -> (1) hello: the cycle waits for input at `ask`.
    let text = base_with("\"1\" = \"bye\"", "\"1\" = \"hello\"\n\"2\" = \"bye\"");
    assert!(load_str(&text, "t.toml", &known).is_ok());
}

#[test]
fn display_is_file_line_col_per_line() {
    let text = base_with("next = \"ask\"", "next = \"x\"\nloud = 1");
    let err = load_str(&text, "flows/t.toml", &known).unwrap_err();
    let shown = err.to_string();
    assert_eq!(shown.lines().count(), err.0.len());
    assert!(
        shown.lines().all(|l| l.starts_with("flows/t.toml:")),
        "{shown}"
    );
    assert!(
        shown.starts_with("flows/t.toml:7:1: node `hello`: unknown key `loud`"),
        "{shown}"
    );
}

#[test]
fn load_file_requires_name_to_match_file() {
    let dir = std::env::temp_dir().join(format!("softacd-ivr-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("other.toml");
    std::fs::write(&path, BASE).unwrap();
    let err = load_file(&path, &known).unwrap_err();
    assert_eq!(err.0.len(), 1);
    assert_eq!((err.0[0].line, err.0[0].col), (1, 8));
    assert!(err.0[0]
        .message
        .contains("differs from the file name `other`"));
    let missing = load_file(&dir.join("absent.toml"), &known).unwrap_err();
    assert!(missing.to_string().contains("cannot read script"));
    std::fs::write(dir.join("t.toml"), BASE).unwrap();
    std::fs::remove_file(&path).unwrap();
    let all = load_dir(&dir, &known).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.keys().collect::<Vec<_>>(), vec!["t"]);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn line_col_counts_chars_and_clamps() {
    let text = "ab\nçd = 1\n";
    assert_eq!(line_col(text, 0), (1, 1));
    assert_eq!(line_col(text, 5), (2, 2));
    assert_eq!(line_col(text, 4), (2, 1));
    assert_eq!(line_col(text, 999), (3, 1));
}

#[test]
fn shape_errors_speak_toml_and_point_at_the_node() {
    let text = base_with("next = \"ask\"\n", "");
    one_error(&text, 3, "node `hello`: missing key `next`");
    let text = base_with("prompts = [\"menu\"]", "prompts = \"menu\"");
    one_error(
        &text,
        9,
        "node `ask`: invalid type: string \"menu\", expected an array",
    );
}

#[test]
fn missing_keys_and_types_and_all_nodes_reported() {
    let all = errors("name = \"t\"\n[nodes.a]\nprompts = []\n[nodes.b]\ntype = \"play\"\n");
    assert_eq!(
        all,
        vec![
            "2:8: node `a` has no `type`".to_owned(),
            "4:1: node `b`: missing key `prompts`".to_owned(),
            "1:1: missing key `start`".to_owned(),
        ]
    );
}

mod never_panics {
    use super::super::load_str;
    use proptest::prelude::*;

    const FLOWS: [&str; 2] = [
        include_str!("../../../ivr-scripts/main.toml"),
        include_str!("../../../ivr-scripts/after-hours.toml"),
    ];

    /// A shipped flow with `cut` bytes removed at `at` and `insert` put there.
    fn mutate(flow: &str, at: usize, cut: usize, insert: &str) -> String {
        let mut start = at.min(flow.len());
        while !flow.is_char_boundary(start) {
            start -= 1;
        }
        let mut end = (start + cut).min(flow.len());
        while !flow.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}{insert}{}", &flow[..start], &flow[end..])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn random_text_never_panics_the_loader(text in "\\PC{0,400}") {
            let _ = load_str(&text, "r.toml", &|_| true);
        }

        #[test]
        fn mutated_shipped_flows_never_panic_and_errors_carry_positions(
            which in 0usize..2,
            at in 0usize..4000,
            cut in 0usize..40,
            insert in prop::sample::select(vec![
                "", "\"", "[", "]]", "=", "\n[nodes.x]\ntype = \"goto\"\n", "type = \"say\"",
                "next = \"nowhere\"", "tz = \"Nope/Zone\"", "pattern = \"(\"", "\u{1F600}", "{", "#",
                "time = \"25:00-26:00\"", "max_digits = 0",
            ]),
        ) {
            let text = mutate(FLOWS[which], at, cut, insert);
            if let Err(e) = load_str(&text, "m.toml", &|_| true) {
                for d in &e.0 {
                    let lines = text.lines().count().max(1);
                    prop_assert!(d.line <= lines + 1, "line {} beyond {lines}: {}", d.line, d);
                }
            }
        }
    }
}

/// A queue node at line 15 (its keys from line 16), reached from `ask`.
fn with_queue(keys: &str) -> String {
    let q = format!(
        "[nodes.q]\ntype = \"queue\"\nqueue = \"support\"\nhold_music = \"hold\"\non_timeout = \"bye\"\n{keys}"
    );
    let mut text = base_with("\"1\" = \"bye\"", "\"1\" = \"bye\"\n\"0\" = \"q\"");
    text.push_str(&q);
    text
}

#[test]
fn queue_extensions_load() {
    let text = with_queue(
        "skills = [\"support:5\", \"fr\"]\nannounce_every_s = 30\nmax_wait_s = 90\non_overflow = \"bye\"\ncallback_key = \"#\"\non_callback = \"hello\"\n",
    );
    let script = load_str(&text, "t.toml", &|_| true).unwrap_or_else(|e| panic!("{e}"));
    match script.nodes.get("q") {
        Some(Node::Queue {
            skills,
            max_wait_s,
            on_overflow,
            callback_key,
            on_callback,
            announce_every_s,
            ..
        }) => {
            assert_eq!(*announce_every_s, Some(30));
            assert_eq!(skills, &["support:5", "fr"]);
            assert_eq!(*max_wait_s, Some(90));
            assert_eq!(on_overflow.as_deref(), Some("bye"));
            assert_eq!(*callback_key, Some('#'));
            assert_eq!(on_callback.as_deref(), Some("hello"));
        }
        other => panic!("not a queue: {other:?}"),
    }
}

#[test]
fn queue_extension_rules_at_their_values() {
    let line = BASE.lines().count() + 1 + 6;
    one_error(
        &with_queue("skills = [\"support:0\"]\n"),
        line,
        "level 1..=255",
    );
    one_error(
        &with_queue("skills = [\"support:x\"]\n"),
        line,
        "`name:level`",
    );
    one_error(
        &with_queue("max_wait_s = 30\n"),
        line,
        "`max_wait_s` needs `on_overflow`",
    );
    one_error(
        &with_queue("on_overflow = \"bye\"\n"),
        line,
        "needs `max_wait_s`",
    );
    one_error(
        &with_queue("max_wait_s = 0\non_overflow = \"bye\"\n"),
        line,
        "`max_wait_s` must be 1..=14400",
    );
    one_error(
        &with_queue("max_wait_s = 5\non_overflow = \"nowhere\"\n"),
        line + 1,
        "`on_overflow` names missing node `nowhere`",
    );
    one_error(
        &with_queue("callback_key = \"12\"\non_callback = \"bye\"\n"),
        line,
        "one DTMF key",
    );
    one_error(
        &with_queue("callback_key = \"1\"\n"),
        line,
        "needs `on_callback`",
    );
    let all = errors(&with_queue("announce_every_s = 5\n"));
    let want = format!("{line}:20: `announce_every_s` must be 10..=14400, not 5");
    assert!(all.contains(&want), "{all:#?}");
    // the loader's known prompts lack you-are-caller-number
    let text = with_queue("announce_every_s = 20\n");
    assert!(load_str(&text, "t.toml", &|_| true).is_ok());
    one_error(
        &text,
        line,
        "no media file: `you-are-caller-number`, `estimated-wait`",
    );
    one_error(
        &with_queue("callback_key = \"1\"\non_callback = \"gone\"\n"),
        line + 1,
        "`on_callback` names missing node `gone`",
    );
}

/// BASE with menu key 2 leading to a transfer node whose `uri` is given.
fn with_transfer(uri: &str, extra: &str) -> String {
    let mut text = base_with("\"1\" = \"bye\"", "\"1\" = \"bye\"\n\"2\" = \"out\"");
    text.push_str(&format!(
        "[nodes.out]\ntype = \"transfer\"\nuri = \"{uri}\"\n{extra}on_error = \"bye\"\n"
    ));
    text
}

#[test]
fn transfer_node_loads_with_its_default_ring_time() {
    let text = with_transfer("sip:${ext}@127.0.0.1:5090", "");
    let flow = load_str(&text, "t.toml", &known).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        flow.nodes.get("out"),
        Some(&Node::Transfer {
            uri: "sip:${ext}@127.0.0.1:5090".into(),
            timeout_s: DEFAULT_TRANSFER_TIMEOUT_S,
            on_error: "bye".into(),
        })
    );
}

#[test]
fn transfer_bad_scheme_and_ring_time_are_reported_at_their_value() {
    // BASE has 14 lines, one choice is added, then `[nodes.out]`, `type`, `uri`.
    one_error(
        &with_transfer("tel:+15551234", ""),
        18,
        "must be a sip: URI",
    );
    let text = with_transfer("sip:a@127.0.0.1", "timeout_s = 0\n");
    one_error(&text, 19, "`timeout_s` must be 1..=300");
    let mut missing = with_transfer("sip:a@127.0.0.1", "");
    missing = missing.replace("on_error = \"bye\"\n", "on_error = \"nowhere\"\n");
    one_error(&missing, 19, "nowhere");
}

#[test]
fn transfer_retried_from_its_own_on_error_is_a_loop() {
    let text = with_transfer("sip:a@127.0.0.1", "").replace(
        "on_error = \"bye\"\n",
        "on_error = \"again\"\n[nodes.again]\ntype = \"goto\"\nnext = \"out\"\n",
    );
    let all = errors(&text);
    assert!(
        all.iter()
            .any(|e| e.contains("loop with no exit or input: again -> out -> again")),
        "{all:#?}"
    );
}

mod record_rules {
    use super::super::{load_str, Node, RecordNode};

    fn flow(record: &str) -> String {
        format!(
            "name = \"vm\"\nstart = \"rec\"\n[nodes.rec]\ntype = \"record\"\n{record}\n[nodes.bye]\ntype = \"hangup\"\n"
        )
    }

    fn errors(text: &str) -> Vec<String> {
        match load_str(text, "vm.toml", &|p| p != "missing") {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn defaults_fill_a_minimal_record_node() {
        let s = load_str(&flow("next = \"bye\""), "vm.toml", &|_| true).unwrap();
        assert_eq!(
            s.nodes["rec"],
            Node::Record(RecordNode {
                prompts: vec![],
                beep: true,
                max_s: 120,
                silence_s: 5,
                min_s: 1,
                terminator: Some('#'),
                into: "voicemail".into(),
                next: "bye".into(),
                on_empty: "bye".into(),
                on_error: "bye".into(),
            })
        );
    }

    #[test]
    fn bad_values_are_reported_at_their_place() {
        let text = flow(
            "max_s = 0\nsilence_s = 61\nterminator = \"x\"\nnext = \"bye\"\non_empty = \"gone\"",
        );
        let got = errors(&text);
        assert!(
            got.contains(&"vm.toml:5:9: `max_s` must be 1..=3600, not 0".to_owned()),
            "{got:?}"
        );
        assert!(
            got.contains(&"vm.toml:6:13: `silence_s` must be 0..=60, not 61".to_owned()),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|e| e.starts_with("vm.toml:7:14: `terminator` must be one DTMF key")),
            "{got:?}"
        );
        assert!(
            got.contains(&"vm.toml:9:12: `on_empty` names missing node `gone`".to_owned()),
            "{got:?}"
        );
    }

    #[test]
    fn min_s_must_be_below_max_s_and_the_beep_must_exist() {
        let got = errors(&flow("max_s = 10\nmin_s = 10\nnext = \"bye\""));
        assert!(
            got.contains(&"vm.toml:6:9: `min_s` must be less than `max_s` (10), not 10".to_owned()),
            "{got:?}"
        );
        let no_beep = load_str(&flow("next = \"bye\""), "vm.toml", &|p| p != "beep");
        let msg = no_beep.unwrap_err().to_string();
        assert!(msg.contains("needs the prompt `beep`"), "{msg}");
        assert!(
            load_str(&flow("beep = false\nnext = \"bye\""), "vm.toml", &|p| p
                != "beep")
            .is_ok()
        );
    }

    #[test]
    fn unknown_keys_and_missing_prompts_are_errors() {
        let got = errors(&flow("prompts = [\"missing\"]\nnext = \"bye\"\nfoo = 1"));
        assert!(
            got.iter().any(|e| e.contains("unknown key `foo`")),
            "{got:?}"
        );
        let got = errors(&flow("prompts = [\"missing\"]\nnext = \"bye\""));
        assert!(
            got.iter().any(|e| e.contains("unknown prompt `missing`")),
            "{got:?}"
        );
        assert!(errors(&flow("terminator = \"\"\ninto = \"msg\"\nnext = \"bye\"")).is_empty());
    }
}

/// BASE with menu key 2 leading to a callback node whose `number` is given.
fn with_callback(number: &str) -> String {
    let mut text = base_with("\"1\" = \"bye\"", "\"1\" = \"bye\"\n\"2\" = \"cb\"");
    text.push_str(&format!(
        "[nodes.cb]\ntype = \"callback\"\nnumber = \"{number}\"\nnext = \"bye\"\non_error = \"bye\"\n"
    ));
    text
}

#[test]
fn callback_node_loads_and_a_bad_number_is_reported_at_its_value() {
    let flow = load_str(&with_callback("+${cc}${callback}"), "t.toml", &known)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        flow.nodes.get("cb"),
        Some(&Node::Callback {
            number: "+${cc}${callback}".into(),
            next: "bye".into(),
            on_error: "bye".into(),
        })
    );
    // BASE has 14 lines, one choice is added, then `[nodes.cb]`, `type`, `number`.
    one_error(&with_callback("sip:${x}"), 18, "only digits");
    let missing = with_callback("${callback}").replace("next = \"bye\"\n", "next = \"gone\"\n");
    one_error(&missing, 19, "gone");
}
