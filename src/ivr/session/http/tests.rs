use super::super::{IvrCommand, IvrEvent, IvrSession, SessionInfo};
use super::*;
use crate::ivr::script::{load_str, Script};
use std::sync::Arc;

const FLOW: &str = r#"name = "h"
start = "lookup"
[nodes.lookup]
type = "http"
method = "POST"
url = "http://127.0.0.1:9/customers/${caller}?dnis=${dnis}"
timeout_ms = 1500
on_error = "failed"
next = "ok"
[nodes.lookup.headers]
X-Account = "${acct}"
[nodes.lookup.body]
number = "${caller}"
[nodes.lookup.save]
vip = "customer.vip"
level = "customer.tiers.1"
[nodes.ok]
type = "hangup"
cause = "ok"
[nodes.failed]
type = "hangup"
cause = "failed"
"#;

fn flow() -> Arc<Script> {
    Arc::new(load_str(FLOW, "h.toml", &|_| true).unwrap_or_else(|e| panic!("{e}")))
}

fn hangup(cause: &str) -> Vec<IvrCommand> {
    vec![IvrCommand::Hangup {
        cause: cause.into(),
    }]
}

/// A started session and the request it sent.
fn started(t: Instant) -> (IvrSession, HttpRequest) {
    let info = SessionInfo {
        caller: "+1 555/0100".into(),
        dnis: "102".into(),
        ..SessionInfo::default()
    };
    let mut s = IvrSession::with_info(flow(), 1, info);
    s.set_var("acct", "A-7");
    let cmds = s.handle(t, IvrEvent::Start);
    match cmds.as_slice() {
        [IvrCommand::HttpRequest(req)] => {
            let req = req.clone();
            (s, req)
        }
        other => panic!("expected one HttpRequest, got {other:?}"),
    }
}

#[test]
fn request_is_built_from_the_call_variables() {
    let t = Instant::now();
    let (s, req) = started(t);
    assert_eq!(
        req.url,
        "http://127.0.0.1:9/customers/%2B1%20555%2F0100?dnis=102"
    );
    assert_eq!(req.method, HttpMethod::Post);
    assert_eq!(req.headers, vec![("X-Account".into(), "A-7".into())]);
    assert_eq!(req.body.as_deref(), Some(r#"{"number":"+1 555/0100"}"#));
    assert_eq!(req.timeout_ms, 1500);
    assert_eq!(s.poll_timeout(), Some(t + Duration::from_millis(1500)));
}

#[test]
fn a_2xx_json_answer_saves_fields_and_goes_next() {
    let t = Instant::now();
    let (mut s, req) = started(t);
    let body = r#"{"customer": {"vip": true, "tiers": ["bronze", "gold"]}}"#;
    let ev = IvrEvent::HttpResponse {
        id: req.id,
        status: 200,
        body: body.into(),
    };
    assert_eq!(s.handle(t, ev), hangup("ok"));
    assert_eq!(s.var("vip").as_deref(), Some("true"));
    assert_eq!(s.var("level").as_deref(), Some("gold"));
}

#[test]
fn non_2xx_bad_json_failure_and_timeout_take_on_error() {
    let t = Instant::now();
    let cases: Vec<Box<dyn Fn(u64) -> IvrEvent>> = vec![
        Box::new(|id| IvrEvent::HttpResponse {
            id,
            status: 404,
            body: "{}".into(),
        }),
        Box::new(|id| IvrEvent::HttpResponse {
            id,
            status: 200,
            body: "<html>".into(),
        }),
        Box::new(|id| IvrEvent::HttpFailed {
            id,
            reason: "connection refused".into(),
        }),
    ];
    for make in cases {
        let (mut s, req) = started(t);
        assert_eq!(s.handle(t, make(req.id)), hangup("failed"));
        assert_eq!(s.var("vip"), None);
    }
    let (mut s, _) = started(t);
    let deadline = s.poll_timeout().expect("the http node arms its timer");
    let early = deadline - Duration::from_millis(1);
    assert_eq!(s.handle(early, IvrEvent::Timeout), vec![]);
    assert_eq!(s.handle(deadline, IvrEvent::Timeout), hangup("failed"));
}

#[test]
fn an_answer_with_another_id_is_ignored_and_digits_are_kept() {
    let t = Instant::now();
    let (mut s, req) = started(t);
    let stale = IvrEvent::HttpResponse {
        id: req.id + 1,
        status: 200,
        body: "{}".into(),
    };
    assert_eq!(s.handle(t, stale), vec![]);
    assert_eq!(s.handle(t, IvrEvent::Digit('5')), vec![]);
    assert_eq!(s.digits(), "5");
    assert!(!s.is_finished());
}

#[test]
fn url_encoding_and_json_paths() {
    assert_eq!(url_encode("a-Z_0.~"), "a-Z_0.~");
    assert_eq!(url_encode("é &/"), "%C3%A9%20%26%2F");
    let doc: serde_json::Value =
        serde_json::from_str(r#"{"a": {"b": 3, "c": null, "d": [1, "x"]}, "s": "t"}"#)
            .unwrap_or_default();
    assert_eq!(json_path(&doc, "a.b").as_deref(), Some("3"));
    assert_eq!(json_path(&doc, "a.d.1").as_deref(), Some("x"));
    assert_eq!(json_path(&doc, "s").as_deref(), Some("t"));
    assert_eq!(json_path(&doc, "a.c"), None);
    assert_eq!(json_path(&doc, "a"), None);
    assert_eq!(json_path(&doc, "a.b.c"), None);
    assert_eq!(json_path(&doc, "missing"), None);
}

fn errors(text: &str) -> String {
    match load_str(text, "h.toml", &|_| true) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn check_reports_bad_http_nodes_at_their_place() {
    let bad_url = FLOW.replace("http://127.0.0.1:9/customers", "ftp://x/customers");
    assert!(
        errors(&bad_url).starts_with("h.toml:6:7: `url` must start with http://"),
        "{}",
        errors(&bad_url)
    );
    let no_on_error = FLOW.replace("on_error = \"failed\"\n", "");
    let e = errors(&no_on_error);
    assert!(e.contains("missing key `on_error`"), "{e}");
    assert!(e.starts_with("h.toml:"), "{e}");
    let unknown = FLOW.replace("on_error = \"failed\"", "on_error = \"nowhere\"");
    let e = errors(&unknown);
    assert!(e.starts_with("h.toml:8:12: "), "{e}");
    assert!(e.contains("nowhere"), "{e}");
    let get_body = FLOW.replace("\"POST\"", "\"GET\"");
    assert!(errors(&get_body).contains("a GET request has no `body`"));
    let bad_method = FLOW.replace("\"POST\"", "\"DELETE\"");
    assert!(errors(&bad_method).contains("`method` must be GET or POST"));
    let bad_timeout = FLOW.replace("1500", "0");
    assert!(errors(&bad_timeout).contains("`timeout_ms` must be 1..=30000"));
    let bad_path = FLOW.replace("customer.tiers.1", "customer..x");
    assert!(errors(&bad_path).contains("is not a dotted JSON path"));
    let bad_port = FLOW.replace("127.0.0.1:9", "127.0.0.1:99999");
    assert!(errors(&bad_port).contains("port `99999`"));
    assert_eq!(errors(FLOW), "");
}
