//! The HTTP API end to end in one process (docs/api.md, docs/events.md): the
//! real axum router on 127.0.0.1:0, a real CDR store on a temporary SQLite
//! file, a real event bus, and a fake engine task on the other end of the
//! agent command channel (the process boundary the real engine sits behind).

use futures_util::StreamExt;
use serde_json::{json, Value};
use softacd::cdr::{Cdr, CdrStore};
use softacd::cti::{
    AgentId, AgentState, AgentStatus, Channel, ContactId, CstaEvent, Leg, Media, Output,
};
use softacd::events::EventBus;
use softacd::http::{self, AgentCommand, AgentError, AgentOp, AgentView, HttpState};
use softacd::registrar::BindingStore;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// Guard against a hung test; never reached when things work.
const GUARD: Duration = Duration::from_secs(10);

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        let p = std::env::temp_dir().join(format!(
            "softacd-http-{tag}-{}-{:016x}",
            std::process::id(),
            u64::from_le_bytes(r)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What the fake engine does per agent name.
/// - `alice`: known, idle; every op succeeds.
/// - `busy`: known, in a call; sign-out and not-ready are 409.
/// - `mute`: the engine never answers (keeps the reply sender).
/// - `drop`: the engine drops the reply sender.
/// - anything else: unknown (404).
async fn fake_engine(
    mut rx: mpsc::Receiver<AgentCommand>,
    seen: Arc<Mutex<Vec<(String, AgentOp)>>>,
) {
    let mut unanswered = Vec::new();
    while let Some(cmd) = rx.recv().await {
        seen.lock()
            .unwrap()
            .push((cmd.agent.clone(), cmd.op.clone()));
        let answer = match cmd.agent.as_str() {
            "alice" => Ok(alice_after(&cmd.op)),
            "busy" => Err(AgentError::Conflict(
                "agent \"busy\" is in_call: try after the call".into(),
            )),
            "mute" => {
                unanswered.push(cmd.reply);
                continue;
            }
            "drop" => continue,
            _ => Err(AgentError::NotFound),
        };
        let _ = cmd.reply.send(answer);
    }
}

fn alice_after(op: &AgentOp) -> AgentView {
    let mut v = AgentView {
        id: "alice".into(),
        status: AgentStatus::Available,
        state: AgentState::Idle,
        device: "sip:alice@10.0.0.9:5062".into(),
        skills: BTreeMap::new(),
        contact: None,
        load: BTreeMap::new(),
    };
    match op {
        AgentOp::SignIn { device, skills } => {
            if let Some(d) = device {
                v.device = d.clone();
            }
            v.skills = skills.clone().unwrap_or_default();
        }
        AgentOp::SignOut => v.status = AgentStatus::LoggedOut,
        AgentOp::Ready | AgentOp::Status | AgentOp::WrapUpDone | AgentOp::HangUp => {}
        AgentOp::Transfer { .. } => v.state = AgentState::WrapUp,
        AgentOp::Hold { .. } => {}
        AgentOp::NotReady { reason } => {
            v.status = AgentStatus::NotReady {
                reason: reason.clone(),
            }
        }
    }
    v
}

struct Api {
    addr: SocketAddr,
    events: EventBus,
    agents: Arc<RwLock<Vec<AgentView>>>,
    cdrs: CdrStore,
    seen: Arc<Mutex<Vec<(String, AgentOp)>>>,
    _dir: TempDir,
}

/// Start the router; `engine` false leaves the command channel closed.
async fn start(tag: &str, engine: bool) -> Api {
    start_with(tag, engine, 64).await
}

async fn start_with(tag: &str, engine: bool, event_capacity: usize) -> Api {
    start_full(tag, engine, event_capacity, Default::default()).await
}

async fn start_full(
    tag: &str,
    engine: bool,
    event_capacity: usize,
    auth: Arc<softacd::http::auth::Auth>,
) -> Api {
    let dir = TempDir::new(tag);
    let store = BindingStore::open(&dir.0.join("softacd.db")).await.unwrap();
    let cdrs = CdrStore::new(store.pool().clone()).await.unwrap();
    let events = EventBus::new(event_capacity);
    let agents = Arc::new(RwLock::new(Vec::new()));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel(http::AGENT_QUEUE);
    if engine {
        tokio::spawn(fake_engine(rx, seen.clone()));
    } else {
        drop(rx);
    }
    let state = HttpState {
        bindings: Arc::new(RwLock::new(Vec::new())),
        metrics: None,
        draining: Arc::new(AtomicBool::new(false)),
        wall_ms: || 1_795_000_000_000,
        agents: agents.clone(),
        agent_commands: tx,
        agent_timeout: Duration::from_millis(300),
        cdrs: cdrs.clone(),
        events: events.clone(),
        ivr_flows: None,
        recordings: Default::default(),
        desk: Default::default(),
        queues: Default::default(),
        history: Default::default(),
        auth,
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, http::router(state)).await;
    });
    Api {
        addr,
        events,
        agents,
        cdrs,
        seen,
        _dir: dir,
    }
}

/// One HTTP/1.1 request on a fresh connection; (status, content-type, body).
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: &str,
) -> (u16, String, String) {
    let fut = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        if let Some(ct) = content_type {
            req.push_str(&format!("Content-Type: {ct}\r\n"));
        }
        if !body.is_empty() || method == "POST" {
            req.push_str(&format!("Content-Length: {}\r\n", body.len()));
        }
        req.push_str("\r\n");
        req.push_str(body);
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        String::from_utf8(raw).unwrap()
    };
    let raw = tokio::time::timeout(GUARD, fut)
        .await
        .expect("HTTP request hung");
    let (head, body) = raw.split_once("\r\n\r\n").expect("no header end");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "test client does not decode chunked bodies: {head}"
    );
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let ct = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    (status, ct, body.to_string())
}

async fn get_json(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, ct, body) = request(addr, "GET", path, None, "").await;
    assert_eq!(ct, "application/json", "GET {path}: {body}");
    (status, serde_json::from_str(&body).unwrap())
}

async fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, Value) {
    post_as(addr, path, Some("application/json"), body).await
}

async fn post_as(addr: SocketAddr, path: &str, ct: Option<&str>, body: &str) -> (u16, Value) {
    let (status, got_ct, text) = request(addr, "POST", path, ct, body).await;
    assert_eq!(got_ct, "application/json", "POST {path}: {text}");
    (status, serde_json::from_str(&text).unwrap())
}

/// An error body: `{"error": <non-empty>, "status": <code>}`.
fn assert_error(got: &(u16, Value), status: u16, contains: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["status"], status, "{}", got.1);
    let msg = got.1["error"].as_str().expect("error message");
    assert!(
        msg.to_lowercase().contains(&contains.to_lowercase()),
        "{msg:?} lacks {contains:?}"
    );
}

fn cdr(id: u64, end_ms: u64) -> Cdr {
    Cdr {
        contact_id: id,
        caller: format!("sip:caller{id}@example.com"),
        dnis: "800".into(),
        media: "audio".into(),
        arrival_ms: end_ms - 90_000,
        ivr_answer_ms: Some(end_ms - 89_500),
        queued_ms: Some(end_ms - 60_000),
        agent_answer_ms: Some(end_ms - 45_000),
        end_ms,
        agent: Some("alice".into()),
        queue: Some("support".into()),
        end_cause: "normal_clearing".into(),
        digits: "2".into(),
        ivr_script: Some("welcome".into()),
        ivr_script_version: Some("1".into()),
        recording: None,
        voicemail: None,
        trunk: None,
        callback: None,
        agents: Some("alice".into()),
    }
}

#[tokio::test]
async fn agents_list_serves_the_engine_snapshot() {
    let api = start("list", true).await;
    assert_eq!(get_json(api.addr, "/api/agents").await, (200, json!([])));
    *api.agents.write().unwrap() = vec![AgentView {
        id: "bob".into(),
        status: AgentStatus::NotReady {
            reason: "break".into(),
        },
        state: AgentState::WrapUp,
        device: "sip:bob@10.0.0.7".into(),
        skills: [("sales".to_string(), 4)].into_iter().collect(),
        contact: None,
        load: [(Channel::Chat, 2), (Channel::Email, 1)].into(),
    }];
    let (status, body) = get_json(api.addr, "/api/agents").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!([{"id":"bob","status":{"status":"not_ready","reason":"break"},
                "state":{"state":"wrap_up"},"device":"sip:bob@10.0.0.7","skills":{"sales":4},
                "load":{"chat":2,"email":1}}])
    );
}

#[tokio::test]
async fn sign_in_passes_device_and_skills_and_returns_the_view() {
    let api = start("signin", true).await;
    let got = post_json(
        api.addr,
        "/api/agents/alice/sign-in",
        r#"{"device":"sip:alice@192.0.2.4:5070","skills":{"support":5}}"#,
    )
    .await;
    assert_eq!(
        got,
        (
            200,
            json!({"id":"alice","status":{"status":"available"},"state":{"state":"idle"},
                   "device":"sip:alice@192.0.2.4:5070","skills":{"support":5}})
        )
    );
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![(
            "alice".to_string(),
            AgentOp::SignIn {
                device: Some("sip:alice@192.0.2.4:5070".into()),
                skills: Some([("support".to_string(), 5)].into_iter().collect()),
            }
        )]
    );
}

#[tokio::test]
async fn sign_in_without_body_leaves_device_to_the_engine() {
    let api = start("signin-empty", true).await;
    let (status, body) = post_as(api.addr, "/api/agents/alice/sign-in", None, "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["device"], "sip:alice@10.0.0.9:5062");
    let (status, _) = post_json(api.addr, "/api/agents/alice/sign-in", "{}").await;
    assert_eq!(status, 200);
    let none = AgentOp::SignIn {
        device: None,
        skills: None,
    };
    let seen = api.seen.lock().unwrap().clone();
    assert_eq!(
        seen,
        vec![
            ("alice".to_string(), none.clone()),
            ("alice".to_string(), none)
        ]
    );
}

#[tokio::test]
async fn ready_not_ready_and_sign_out_reach_the_engine() {
    let api = start("ops", true).await;
    let (status, body) = post_json(
        api.addr,
        "/api/agents/alice/not-ready",
        r#"{"reason":"break"}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["status"],
        json!({"status":"not_ready","reason":"break"})
    );
    let (status, body) = post_as(api.addr, "/api/agents/alice/ready", None, "").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!({"status":"available"}))
    );
    let (status, body) = post_as(api.addr, "/api/agents/alice/sign-out", None, "").await;
    assert_eq!(
        (status, &body["status"]),
        (200, &json!({"status":"logged_out"}))
    );
    let ops: Vec<AgentOp> = api
        .seen
        .lock()
        .unwrap()
        .iter()
        .map(|(_, op)| op.clone())
        .collect();
    assert_eq!(
        ops,
        vec![
            AgentOp::NotReady {
                reason: "break".into()
            },
            AgentOp::Ready,
            AgentOp::SignOut
        ]
    );
}

#[tokio::test]
async fn engine_refusals_become_404_and_409() {
    let api = start("refusals", true).await;
    let got = post_as(api.addr, "/api/agents/nobody/ready", None, "").await;
    assert_error(&got, 404, "nobody");
    let got = post_as(api.addr, "/api/agents/busy/sign-out", None, "").await;
    assert_error(&got, 409, "in_call");
}

#[tokio::test]
async fn engine_silence_or_absence_is_503() {
    let api = start("silent", true).await;
    let got = post_as(api.addr, "/api/agents/mute/ready", None, "").await;
    assert_error(&got, 503, "did not answer");
    let got = post_as(api.addr, "/api/agents/drop/ready", None, "").await;
    assert_error(&got, 503, "dropped");
    let gone = start("gone", false).await;
    let got = post_as(gone.addr, "/api/agents/alice/ready", None, "").await;
    assert_error(&got, 503, "not running");
}

#[tokio::test]
async fn bad_bodies_are_json_errors_and_never_reach_the_engine() {
    let api = start("badbody", true).await;
    let path = "/api/agents/alice/sign-in";
    assert_error(&post_json(api.addr, path, "{\"device\":").await, 400, "");
    assert_error(
        &post_as(
            api.addr,
            path,
            Some("text/plain"),
            r#"{"device":"sip:a@b"}"#,
        )
        .await,
        415,
        "content-type",
    );
    assert_error(
        &post_json(api.addr, path, r#"{"device":"sip:a@b","color":"red"}"#).await,
        422,
        "color",
    );
    assert_error(
        &post_json(api.addr, path, r#"{"skills":{"support":300}}"#).await,
        422,
        "",
    );
    assert_error(
        &post_json(api.addr, path, r#"{"device":"tel:+15551234"}"#).await,
        422,
        "sip:",
    );
    assert_error(
        &post_json(api.addr, "/api/agents/alice/ready", r#"{"now":true}"#).await,
        422,
        "now",
    );
    let long_id = format!("/api/agents/{}/ready", "a".repeat(80));
    assert_error(
        &post_as(api.addr, &long_id, None, "").await,
        400,
        "agent id",
    );
    assert!(api.seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn calls_are_newest_first_with_limits() {
    let api = start("calls", true).await;
    for (id, end) in [
        (1, 1_795_000_100_000),
        (2, 1_795_000_300_000),
        (3, 1_795_000_200_000),
    ] {
        api.cdrs.insert(&cdr(id, end)).await.unwrap();
    }
    let (status, body) = get_json(api.addr, "/api/calls").await;
    assert_eq!(status, 200);
    let ids: Vec<u64> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["contact_id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, vec![2, 3, 1]);
    assert_eq!(
        body[0],
        serde_json::to_value(cdr(2, 1_795_000_300_000)).unwrap()
    );
    let (status, body) = get_json(api.addr, "/api/calls?limit=1").await;
    assert_eq!((status, body.as_array().unwrap().len()), (200, 1));
    assert_eq!(body[0]["contact_id"], 2);
    assert_error(
        &get_json(api.addr, "/api/calls?limit=0").await,
        400,
        "limit",
    );
    assert_error(
        &get_json(api.addr, "/api/calls?limit=1001").await,
        400,
        "limit",
    );
    assert_error(&get_json(api.addr, "/api/calls?limit=ten").await, 400, "");
}

#[tokio::test]
async fn websocket_streams_published_events_in_order() {
    let api = start("ws", true).await;
    let url = format!("ws://{}/api/events", api.addr);
    let (mut ws, resp) = tokio::time::timeout(GUARD, tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake hung")
        .unwrap();
    assert_eq!(resp.status().as_u16(), 101);
    // The server subscribed before answering 101, so nothing below is lost.
    api.events
        .publish_at(
            10,
            &CstaEvent::CallDelivered {
                contact: ContactId(5),
                media: Media::Video,
                leg: Leg::Caller,
            },
        )
        .unwrap();
    api.events
        .publish_cti(
            11,
            &Output::AgentStateChanged {
                agent: AgentId::from("alice"),
                status: AgentStatus::Available,
                state: AgentState::Reserved {
                    contact: ContactId(5),
                },
            },
        )
        .unwrap();
    api.events
        .publish_at(
            12,
            &CstaEvent::ConnectionCleared {
                contact: ContactId(5),
                cause: softacd::cti::ClearCause::NormalClearing,
            },
        )
        .unwrap();
    let mut got = Vec::new();
    while got.len() < 3 {
        let frame = tokio::time::timeout(GUARD, ws.next())
            .await
            .expect("no event frame")
            .expect("stream ended")
            .unwrap();
        match frame {
            Message::Text(t) => got.push(serde_json::from_str::<Value>(t.as_str()).unwrap()),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
    assert_eq!(
        got,
        vec![
            json!({"event":"CallDelivered","contact":5,"media":"video","leg":"caller",
                   "ts_ms":10,"seq":1}),
            json!({"event":"AgentStateChanged","agent":"alice","status":{"status":"available"},
                   "state":{"state":"reserved","contact":5},"ts_ms":11,"seq":2}),
            json!({"event":"ConnectionCleared","contact":5,"cause":"normal_clearing",
                   "ts_ms":12,"seq":3}),
        ]
    );
    assert_eq!(api.events.subscribers(), 1);
}

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

async fn ws_connect(addr: SocketAddr) -> Ws {
    let url = format!("ws://{addr}/api/events");
    let (ws, _) = tokio::time::timeout(GUARD, tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake hung")
        .unwrap();
    ws
}

async fn ws_next(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(GUARD, ws.next())
            .await
            .expect("no event frame")
            .expect("stream ended")
            .unwrap();
        if let Message::Text(t) = frame {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

/// The test runtime is single-threaded: the server's stream task cannot run
/// while the test publishes, so the client falls behind deterministically.
#[tokio::test]
async fn lagging_client_gets_notice_and_others_get_everything() {
    let api = start_with("ws-lag", true, 4).await;
    let mut slow = ws_connect(api.addr).await;
    for i in 0..10u64 {
        api.events
            .publish_at(i, &json!({"event": "x", "i": i}))
            .unwrap();
    }
    assert_eq!(
        ws_next(&mut slow).await,
        json!({"event":"lagged","missed":6})
    );
    for i in 6..10u64 {
        let ev = ws_next(&mut slow).await;
        assert_eq!(
            (ev["i"].as_u64(), ev["seq"].as_u64()),
            (Some(i), Some(i + 1))
        );
    }
    let mut second = ws_connect(api.addr).await;
    api.events.publish_at(99, &json!({"event": "y"})).unwrap();
    assert_eq!(ws_next(&mut slow).await["seq"], 11);
    assert_eq!(ws_next(&mut second).await["seq"], 11);
    assert_eq!(api.events.subscribers(), 2);
}

#[tokio::test]
async fn events_without_upgrade_is_a_json_error() {
    let api = start("ws-plain", true).await;
    let (status, body) = get_json(api.addr, "/api/events").await;
    assert!((400..500).contains(&status), "{status} {body}");
    assert_eq!(body["status"], status);
    assert!(body["error"].as_str().is_some_and(|m| !m.is_empty()));
}

#[tokio::test]
async fn unknown_paths_and_methods_are_json_errors() {
    let api = start("fallback", true).await;
    assert_error(
        &get_json(api.addr, "/api/nothing").await,
        404,
        "/api/nothing",
    );
    assert_error(&post_json(api.addr, "/api/calls", "{}").await, 405, "POST");
    assert_error(
        &get_json(api.addr, "/api/agents/alice/ready").await,
        405,
        "GET",
    );
}

#[tokio::test]
async fn ivr_routes_without_an_ivr_are_json_404() {
    let api = start("ivr-none", false).await;
    assert_error(&get_json(api.addr, "/api/ivr/flows").await, 404, "no IVR");
    assert_error(
        &post_json(api.addr, "/api/ivr/reload", "").await,
        404,
        "no IVR",
    );
}

/// `/api/openapi.json` describes the router that serves it: every path and
/// method it lists is routed (no "no such resource", no 405), and every
/// route of docs/api.md's table is in it.
#[tokio::test]
async fn openapi_lists_exactly_routed_paths_and_every_documented_route() {
    let api = start("openapi", true).await;
    let (status, spec) = get_json(api.addr, "/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(spec["openapi"].as_str().unwrap_or("").starts_with("3.1"));
    let paths = spec["paths"].as_object().expect("paths");
    let mut listed = Vec::new();
    for (path, ops) in paths {
        for method in ops.as_object().expect("operations").keys() {
            let concrete = path.replace("{id}", "alice").replace("{contact}", "7");
            let (code, _, body) =
                request(api.addr, &method.to_uppercase(), &concrete, None, "").await;
            assert!(
                code != 405 && !body.contains("no such resource"),
                "{method} {path} is in the spec but not routed: {code} {body}"
            );
            listed.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/api.md"))
        .expect("docs/api.md");
    let documented: Vec<String> = doc
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split_once('`').map(|(route, _)| route.to_owned()))
        .filter(|r| r.starts_with("GET ") || r.starts_with("POST "))
        .map(|r| r.split('?').next().unwrap_or("").to_owned())
        .collect();
    assert!(documented.len() >= 15, "{documented:?}");
    for route in documented {
        assert!(
            listed.contains(&route),
            "{route} is in docs/api.md but not in the spec"
        );
    }
    let (_, _, bogus) = request(api.addr, "GET", "/api/not-a-route", None, "").await;
    assert!(bogus.contains("no such resource"), "{bogus}");
}

// ---- Authentication (docs/api.md "Authentication") ----

const TOKEN: &str = "t0ken-for-tests";

/// A server with the admin token [`TOKEN`], supervisor `sue` (password
/// `sue-pw`), admin supervisor `root` (`root-pw`) and desk agent `alice`
/// (`alice-pw`).
async fn start_locked(tag: &str, reads: bool) -> Api {
    use softacd::http::auth::{sessions::Role, Auth};
    use softacd::http::desk::password::hash;
    let users = [
        ("sue", "sue-pw", Role::Supervisor),
        ("root", "root-pw", Role::Admin),
        ("alice", "alice-pw", Role::Agent),
    ]
    .into_iter()
    .map(|(u, p, r)| (u.to_string(), (hash(p).unwrap(), r)))
    .collect();
    let auth = Auth::new(
        Some(hash(TOKEN).unwrap()),
        users,
        reads,
        Duration::from_secs(600),
    );
    start_full(tag, true, 64, Arc::new(auth)).await
}

/// One request with extra headers; (status, head, body as JSON).
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, String, Value) {
    let fut = async {
        let mut s = TcpStream::connect(addr).await.unwrap();
        let mut req = format!("{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n");
        for (k, v) in headers {
            req.push_str(&format!("{k}: {v}\r\n"));
        }
        if !body.is_empty() {
            req.push_str("Content-Type: application/json\r\n");
        }
        req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        s.write_all(req.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.unwrap();
        String::from_utf8(raw).unwrap()
    };
    let raw = tokio::time::timeout(GUARD, fut)
        .await
        .expect("HTTP request hung");
    let (head, body) = raw.split_once("\r\n\r\n").expect("no header end");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let json = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {head}\n{body}"));
    (status, head.to_string(), json)
}

/// Signs in; the `Cookie` header value to send back.
async fn login(addr: SocketAddr, user: &str, password: &str) -> String {
    let body = json!({"user": user, "password": password}).to_string();
    let (status, head, json) = call(addr, "POST", "/api/login", &[], &body).await;
    assert_eq!(status, 200, "{json}");
    let set = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: "))
        .expect("Set-Cookie");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    let pair = set.split(';').next().unwrap().to_string();
    let id = pair.strip_prefix("softacd_session=").expect("cookie name");
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{id}"
    );
    pair
}

#[tokio::test]
async fn admin_routes_are_401_without_credentials_and_200_with_the_token() {
    let api = start_locked("auth-token", false).await;
    let (status, head, body) = call(api.addr, "POST", "/api/agents/alice/ready", &[], "").await;
    assert_error(&(status, body), 401, "sign in");
    assert!(head.contains("www-authenticate: Bearer"), "{head}");
    for path in [
        "/api/ivr/reload",
        "/api/calls/7/recording/pause",
        "/api/agents/bob/sign-out",
    ] {
        let (status, _, body) = call(api.addr, "POST", path, &[], "").await;
        assert_error(&(status, body), 401, "sign in");
    }
    // the right token; later calls are served from the verified-token cache
    let bearer = format!("Bearer {TOKEN}");
    let ok = [("Authorization", bearer.as_str())];
    let wrong = [("Authorization", "Bearer not-the-token")];
    for round in 0..2 {
        let (status, _, body) = call(api.addr, "POST", "/api/agents/alice/ready", &ok, "").await;
        assert_eq!((status, &body["id"]), (200, &json!("alice")), "{body}");
        // a wrong token is 401, then throttled (429); the verified one still works
        let (status, _, body) = call(api.addr, "POST", "/api/agents/alice/ready", &wrong, "").await;
        let expect = if round == 0 { 401 } else { 429 };
        assert_eq!(status, expect, "{body}");
    }
    let (status, _, body) = call(api.addr, "POST", "/api/ivr/reload", &ok, "").await;
    assert_error(&(status, body), 404, "no IVR");
    assert_eq!(
        api.seen.lock().unwrap().len(),
        2,
        "only authorized commands reached the engine"
    );
    // reads stay open by default, whatever credentials come with them
    assert_eq!(get_json(api.addr, "/api/queues").await.0, 200);
    let (status, _, _) = call(api.addr, "GET", "/api/queues", &wrong, "").await;
    assert_eq!(status, 200, "a wrong token does not close an open read");
    assert_eq!(get_json(api.addr, "/healthz").await.0, 200);
}

#[tokio::test]
async fn sessions_carry_roles_supervisor_403_admin_200_agent_own_seat_only() {
    let api = start_locked("auth-roles", false).await;
    let sue = login(api.addr, "sue", "sue-pw").await;
    let as_sue = [("Cookie", sue.as_str())];
    let (status, _, who) = call(api.addr, "GET", "/api/session", &as_sue, "").await;
    assert_eq!(
        (status, who["user"].clone(), who["role"].clone()),
        (200, json!("sue"), json!("supervisor"))
    );
    let (status, _, body) = call(api.addr, "POST", "/api/agents/alice/ready", &as_sue, "").await;
    assert_error(&(status, body), 403, "sue may not POST");
    let root = login(api.addr, "root", "root-pw").await;
    let as_root = [("Cookie", root.as_str())];
    let (status, _, _) = call(api.addr, "POST", "/api/agents/alice/ready", &as_root, "").await;
    assert_eq!(status, 200);
    let alice = login(api.addr, "alice", "alice-pw").await;
    let as_alice = [("Cookie", alice.as_str())];
    let (status, _, body) = call(
        api.addr,
        "POST",
        "/api/agents/alice/not-ready",
        &as_alice,
        r#"{"reason":"lunch"}"#,
    )
    .await;
    assert_eq!(
        (status, &body["status"]["reason"]),
        (200, &json!("lunch")),
        "{body}"
    );
    let (status, _, body) =
        call(api.addr, "POST", "/api/agents/busy/sign-out", &as_alice, "").await;
    assert_error(&(status, body), 403, "alice may not");
    let (status, _, body) = call(api.addr, "POST", "/api/ivr/reload", &as_alice, "").await;
    assert_error(&(status, body), 403, "alice may not");
    // logout ends the session
    let (status, head, body) = call(api.addr, "POST", "/api/logout", &as_root, "").await;
    assert_eq!((status, &body["signed_out"]), (200, &json!(true)));
    assert!(head.contains("Max-Age=0"), "{head}");
    let (status, _, body) = call(api.addr, "POST", "/api/agents/alice/ready", &as_root, "").await;
    assert_error(&(status, body), 401, "sign in");
    let (status, _, _) = call(api.addr, "GET", "/api/session", &as_root, "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn wrong_passwords_are_401_then_throttled_and_bad_bodies_are_4xx() {
    let api = start_locked("auth-throttle", false).await;
    let wrong = json!({"user": "sue", "password": "guess"}).to_string();
    let (status, _, body) = call(api.addr, "POST", "/api/login", &[], &wrong).await;
    assert_error(&(status, body), 401, "wrong user or password");
    let (status, head, body) = call(api.addr, "POST", "/api/login", &[], &wrong).await;
    assert_error(&(status, body), 429, "try again");
    assert!(head.contains("retry-after: 1"), "{head}");
    let right = json!({"user": "sue", "password": "sue-pw"}).to_string();
    let (status, _, _) = call(api.addr, "POST", "/api/login", &[], &right).await;
    assert_eq!(status, 429, "the name waits even with the right password");
    let nobody = json!({"user": "mallory", "password": "x"}).to_string();
    let (status, _, body) = call(api.addr, "POST", "/api/login", &[], &nobody).await;
    assert_error(&(status, body), 401, "wrong user or password");
    let (status, _, body) = call(api.addr, "POST", "/api/login", &[], r#"{"user":"sue"}"#).await;
    assert_error(&(status, body), 422, "password");
    let (status, _, body) = call(api.addr, "POST", "/api/login", &[], "{not json").await;
    assert_error(&(status, body), 400, "");
    let long = json!({"user": "u".repeat(65), "password": "x"}).to_string();
    let (status, _, body) = call(api.addr, "POST", "/api/login", &[], &long).await;
    assert_error(&(status, body), 422, "user must be");
    let forged = [("Cookie", "softacd_session=00000000000000000000000000000000")];
    let (status, _, _) = call(api.addr, "POST", "/api/ivr/reload", &forged, "").await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn reads_need_a_session_or_token_when_required() {
    let api = start_locked("auth-reads", true).await;
    for path in [
        "/api/queues",
        "/api/agents",
        "/api/stats/history",
        "/api/calls",
    ] {
        let (status, _, body) = call(api.addr, "GET", path, &[], "").await;
        assert_error(&(status, body), 401, "sign in");
    }
    let alice = login(api.addr, "alice", "alice-pw").await;
    let (status, _, _) = call(
        api.addr,
        "GET",
        "/api/queues",
        &[("Cookie", alice.as_str())],
        "",
    )
    .await;
    assert_eq!(status, 403, "an agent session is not a supervisor's");
    let sue = login(api.addr, "sue", "sue-pw").await;
    let (status, _, _) = call(
        api.addr,
        "GET",
        "/api/queues",
        &[("Cookie", sue.as_str())],
        "",
    )
    .await;
    assert_eq!(status, 200);
    let bearer = format!("Bearer {TOKEN}");
    let (status, _, _) = call(
        api.addr,
        "GET",
        "/api/agents",
        &[("Authorization", bearer.as_str())],
        "",
    )
    .await;
    assert_eq!(status, 200);
    // the pages, the spec and the session probe stay public
    assert_eq!(request(api.addr, "GET", "/wall", None, "").await.0, 200);
    assert_eq!(get_json(api.addr, "/api/openapi.json").await.0, 200);
    assert_eq!(get_json(api.addr, "/api/session").await.0, 401);
}

#[tokio::test]
async fn open_mode_reports_itself_and_stats_history_checks_minutes() {
    let api = start("auth-open", true).await;
    let (status, body) = get_json(api.addr, "/api/session").await;
    assert_eq!((status, &body["auth"]), (200, &json!("open")));
    let (status, body) = get_json(api.addr, "/api/stats/history").await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"minutes": 60, "queues": []}));
    assert_error(
        &get_json(api.addr, "/api/stats/history?minutes=0").await,
        400,
        "minutes",
    );
    assert_error(
        &get_json(api.addr, "/api/stats/history?minutes=61").await,
        400,
        "minutes",
    );
    assert_error(
        &get_json(api.addr, "/api/stats/history?minutes=x").await,
        400,
        "",
    );
    assert_error(
        &get_json(api.addr, "/api/stats/history?hours=1").await,
        400,
        "",
    );
}

/// The spec's per-route `security` is what a server with admin auth does:
/// an operation without the anonymous `{}` alternative answers 401 to a
/// request without credentials; one with it (or the document's default,
/// which has it) does not — except `/api/session`, whose answer to an
/// anonymous caller is "not signed in".
#[tokio::test]
async fn openapi_security_matches_what_a_locked_server_enforces() {
    let api = start_locked("openapi-security", false).await;
    let (status, spec) = get_json(api.addr, "/api/openapi.json").await;
    assert_eq!(status, 200);
    let schemes = spec["components"]["securitySchemes"]
        .as_object()
        .expect("securitySchemes");
    assert!(schemes.contains_key("bearerAuth") && schemes.contains_key("sessionCookie"));
    let anonymous_ok = |sec: &Value| {
        sec.as_array()
            .is_some_and(|a| a.is_empty() || a.iter().any(|s| s == &json!({})))
    };
    assert!(anonymous_ok(&spec["security"]), "reads are open by default");
    let mut admin_ops = 0;
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for (method, op) in ops.as_object().expect("operations") {
            let sec = op.get("security").unwrap_or(&spec["security"]);
            let concrete = path.replace("{id}", "alice").replace("{contact}", "7");
            let (code, _, body) =
                request(api.addr, &method.to_uppercase(), &concrete, None, "").await;
            if anonymous_ok(sec) {
                assert!(
                    code != 401 || path == "/api/session",
                    "{method} {path} is documented open but answered {code} {body}"
                );
            } else {
                admin_ops += 1;
                assert_eq!(code, 401, "{method} {path} is documented secured: {body}");
                assert!(
                    op["responses"]["401"].is_object(),
                    "{method} {path} lists 401"
                );
            }
        }
    }
    assert!(admin_ops >= 7, "{admin_ops} secured operations");
}
