use super::*;
use std::sync::atomic::{AtomicU32, Ordering};

/// A scripts dir and a data dir, removed on drop.
struct Dirs {
    root: PathBuf,
    paths: StorePaths,
}

impl Dirs {
    fn new(tag: &str) -> Dirs {
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let root =
            std::env::temp_dir().join(format!("softacd-store-{tag}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let paths = StorePaths {
            scripts_dir: root.join("scripts"),
            data_dir: root.join("data"),
        };
        std::fs::create_dir_all(&paths.scripts_dir).expect("scripts dir");
        Dirs { root, paths }
    }

    fn write(&self, flow: &str, text: &str) {
        std::fs::write(flow_file(&self.paths.scripts_dir, flow), text).expect("write flow");
    }

    fn store(&self) -> FlowStore {
        FlowStore::new(self.paths.clone(), vec!["main".into()])
    }
}

impl Drop for Dirs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn flow(name: &str, prompt: &str) -> String {
    format!(
        "name = \"{name}\"\nstart = \"hello\"\n\n[nodes.hello]\ntype = \"play\"\nprompts = [\"{prompt}\"]\nnext = \"bye\"\n\n[nodes.bye]\ntype = \"hangup\"\ncause = \"normal\"\n"
    )
}

fn any_prompt(_: &str) -> bool {
    true
}

fn version(store: &FlowStore, name: &str) -> String {
    store
        .live()
        .get(name)
        .map(|s| s.version.clone())
        .unwrap_or_default()
}

#[test]
fn first_reload_makes_every_flow_live_and_archives_it() {
    let d = Dirs::new("first");
    d.write("main", &flow("main", "welcome"));
    d.write("other", &flow("other", "info"));
    let mut store = d.store();
    let got = store.reload(&any_prompt, 1000).expect("valid flows");
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|f| f.changed), "{got:?}");
    let v = version(&store, "main");
    assert_eq!(v.len(), 12);
    let index = read_index(&d.paths, "main").expect("index");
    assert_eq!(
        index,
        [Archived {
            seq: 1,
            version: v.clone(),
            at_ms: 1000
        }]
    );
    let archived = d.paths.archive("main").join(format!("1-{v}.toml"));
    let text = std::fs::read_to_string(archived).expect("archived text");
    assert_eq!(text, flow("main", "welcome"));
}

#[test]
fn unchanged_reload_reports_nothing_changed_and_archives_nothing() {
    let d = Dirs::new("same");
    d.write("main", &flow("main", "welcome"));
    let mut store = d.store();
    store.reload(&any_prompt, 1).expect("first");
    let got = store.reload(&any_prompt, 2).expect("second");
    assert_eq!(got.len(), 1);
    assert!(!got[0].changed);
    assert_eq!(read_index(&d.paths, "main").expect("index").len(), 1);
    // A restart (a new store over the same dirs) does not archive again.
    let mut again = d.store();
    let got = again.reload(&any_prompt, 3).expect("restart");
    assert!(got[0].changed, "new to this process");
    assert_eq!(read_index(&d.paths, "main").expect("index").len(), 1);
}

#[test]
fn edit_goes_live_and_calls_holding_the_old_version_keep_it() {
    let d = Dirs::new("edit");
    d.write("main", &flow("main", "welcome"));
    let mut store = d.store();
    store.reload(&any_prompt, 1).expect("A");
    let held = store.live().get("main").expect("A live");
    d.write("main", &flow("main", "info"));
    let got = store.reload(&any_prompt, 2).expect("B");
    assert!(got[0].changed);
    let now = store.live().get("main").expect("B live");
    assert_ne!(held.version, now.version);
    assert!(matches!(
        held.nodes.get("hello"),
        Some(script::Node::Play { prompts, .. }) if prompts == &["welcome"]
    ));
    let index = read_index(&d.paths, "main").expect("index");
    let seqs: Vec<u64> = index.iter().map(|a| a.seq).collect();
    assert_eq!(seqs, [1, 2]);
    assert_eq!(index[1].version, now.version);
}

#[test]
fn invalid_file_swaps_nothing_even_when_other_files_changed() {
    let d = Dirs::new("atomic");
    d.write("main", &flow("main", "welcome"));
    d.write("other", &flow("other", "info"));
    let mut store = d.store();
    store.reload(&any_prompt, 1).expect("valid");
    let (main_a, other_a) = (version(&store, "main"), version(&store, "other"));
    d.write("main", &flow("main", "goodbye"));
    d.write(
        "other",
        "name = \"other\"\nstart = \"nowhere\"\n[nodes.x]\ntype = \"hangup\"\ncause = \"normal\"\n",
    );
    let err = store.reload(&any_prompt, 2).expect_err("other is invalid");
    let lines = err.lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("other.toml:") && l.contains("nowhere")),
        "{lines:?}"
    );
    assert!(
        lines[0]
            .split(':')
            .nth(1)
            .is_some_and(|n| n.parse::<u32>().is_ok()),
        "file:line: {lines:?}"
    );
    assert_eq!(version(&store, "main"), main_a, "main kept A");
    assert_eq!(version(&store, "other"), other_a);
    assert_eq!(
        read_index(&d.paths, "main").expect("index").len(),
        1,
        "B never went live"
    );
}

#[test]
fn removing_a_flow_a_service_needs_is_refused() {
    let d = Dirs::new("required");
    d.write("main", &flow("main", "welcome"));
    d.write("other", &flow("other", "info"));
    let mut store = d.store();
    store.reload(&any_prompt, 1).expect("valid");
    std::fs::remove_file(flow_file(&d.paths.scripts_dir, "main")).expect("rm");
    let err = store.reload(&any_prompt, 2).expect_err("main is required");
    assert!(err.to_string().contains("`main`"), "{err}");
    assert!(store.live().get("main").is_some());
}

#[test]
fn missing_prompt_is_refused_with_its_line() {
    let d = Dirs::new("prompt");
    d.write("main", &flow("main", "welcome"));
    let mut store = d.store();
    let only_welcome = |p: &str| p == "welcome";
    store.reload(&only_welcome, 1).expect("valid");
    d.write("main", &flow("main", "nosuch"));
    let err = store.reload(&only_welcome, 2).expect_err("missing prompt");
    assert!(err.to_string().contains("main.toml:6:"), "{err}");
}

#[test]
fn rollback_restores_the_previous_version_text() {
    let d = Dirs::new("rollback");
    d.write("main", &flow("main", "welcome"));
    let mut store = d.store();
    store.reload(&any_prompt, 1).expect("A");
    let a = version(&store, "main");
    d.write("main", &flow("main", "info"));
    store.reload(&any_prompt, 2).expect("B");
    let b = version(&store, "main");
    let done = rollback(&d.paths, "main").expect("rollback");
    assert_eq!(
        (done.from.version.as_str(), done.to.version.as_str()),
        (b.as_str(), a.as_str())
    );
    let text = std::fs::read_to_string(&done.file).expect("flow file");
    assert_eq!(text, flow("main", "welcome"));
    store.reload(&any_prompt, 3).expect("A again");
    assert_eq!(version(&store, "main"), a);
    let seqs: Vec<(u64, String)> = read_index(&d.paths, "main")
        .expect("index")
        .into_iter()
        .map(|x| (x.seq, x.version))
        .collect();
    assert_eq!(seqs, [(1, a.clone()), (2, b.clone()), (3, a)]);
    // Rolling back again returns to B.
    assert_eq!(rollback(&d.paths, "main").expect("again").to.version, b);
}

#[test]
fn rollback_with_one_version_is_a_clear_error() {
    let d = Dirs::new("one");
    d.write("main", &flow("main", "welcome"));
    let mut store = d.store();
    store.reload(&any_prompt, 1).expect("A");
    let before = std::fs::read_to_string(flow_file(&d.paths.scripts_dir, "main")).expect("read");
    let err = rollback(&d.paths, "main").expect_err("one version");
    assert!(err.to_string().contains("nothing to roll back to"), "{err}");
    let after = std::fs::read_to_string(flow_file(&d.paths.scripts_dir, "main")).expect("read");
    assert_eq!(before, after, "flow file untouched");
}

#[test]
fn rollback_of_an_unknown_or_bad_flow_name_is_an_error() {
    let d = Dirs::new("unknown");
    let err = rollback(&d.paths, "nosuch").expect_err("never archived");
    assert!(err.to_string().contains("no archived versions"), "{err}");
    let err = rollback(&d.paths, "../etc").expect_err("bad name");
    assert!(err.to_string().contains("flow name"), "{err}");
    let err = rollback(&d.paths, &"a".repeat(65)).expect_err("too long");
    assert!(err.to_string().contains("flow name"), "{err}");
}

#[test]
fn corrupt_index_line_is_named() {
    let d = Dirs::new("corrupt");
    let dir = d.paths.archive("main");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(dir.join(INDEX_FILE), "1\tabc\t5\nnonsense\n").expect("index");
    let err = read_index(&d.paths, "main").expect_err("bad line");
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn index_lines_round_trip() {
    let a = Archived {
        seq: 7,
        version: "0123456789ab".into(),
        at_ms: 42,
    };
    assert_eq!(parse_index_line(&a.to_string()), Some(a));
    assert_eq!(parse_index_line("7\tnot-hex\t1"), None);
    assert_eq!(parse_index_line("7\tab\t1\textra"), None);
}
