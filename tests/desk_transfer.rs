//! The desk's blind transfer end to end (docs/desk-protocol.md, `transfer`),
//! against the real `softacd run` binary: two agents sign in over the desk
//! WebSocket naming Rust phones on loopback (tests/ua), a caller dials 100,
//! presses 0 and talks with agent 1001 through the relay; 1001 transfers.
//! On the wire: BYE to 1001's phone, INVITE to 1002's phone, and the
//! caller's RTP reaching 1002 (and back) through the relay; on the event
//! stream `Transferred`; in the CDR both agents. To a queue the caller hears
//! the hold flow until 1002 comes back from a break and gets the call.
//! Refusals (`busy`, `unknown_agent`) leave the call with 1001.

mod common;
mod ua;

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use serde_json::{json, Value};
use softacd::media::sdp::parse_offer;
use softacd::sip::Method;
use tokio_tungstenite::tungstenite::{self, stream::MaybeTlsStream, Message, WebSocket};

use common::{poll_until, TestServer};
use ua::config::flow_config;
use ua::events::{self, EventLog};
use ua::rtp::assert_hears;
use ua::{Agent, Caller, AGENT_FILL, CALLER_FILL};

const STEP: Duration = Duration::from_secs(10);
const SETTLE: Duration = Duration::from_secs(10);

/// `flow_config` (relay mode, service 100 → main) with seats 1001 and 1002
/// signing in from the desk (passwords demo1001, demo1002) and a 30 s
/// wrap-up, so the transferring agent is not offered the call again.
fn start() -> TestServer {
    let h1 = softacd::http::desk::password::hash("demo1001").expect("hash");
    let h2 = softacd::http::desk::password::hash("demo1002").expect("hash");
    TestServer::start_with_config(|dir| {
        let mut cfg = flow_config(dir, "relay");
        for (user, hash) in [("1001", &h1), ("1002", &h2)] {
            let seat = format!(
                "user = \"{user}\"\npassword = \"demo{user}\"\nskills = [\"support\"]\nauto_ready = true\n"
            );
            assert!(cfg.contains(&seat), "test config changed:\n{cfg}");
            let desk = format!(
                "user = \"{user}\"\npassword = \"demo{user}\"\nskills = [\"support\"]\n\
                 auto_ready = false\nagent_password_hash = \"{hash}\"\n"
            );
            cfg = cfg.replace(&seat, &desk);
        }
        let wrap = "name = \"support\"\nwrap_up_s = 1\n";
        assert!(cfg.contains(wrap), "test config changed:\n{cfg}");
        cfg.replace(wrap, "name = \"support\"\nwrap_up_s = 30\n")
    })
}

/// One desk connection (a blocking WebSocket client).
struct Desk {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
    next_id: u64,
}

impl Desk {
    /// Connects and signs `agent` in on `device`.
    fn sign_in(server: &TestServer, agent: &str, device: &str) -> Desk {
        let url = format!("ws://{}/api/desk", server.http);
        let (ws, _) = tungstenite::connect(url.as_str()).expect("desk WebSocket");
        if let MaybeTlsStream::Plain(s) = ws.get_ref() {
            s.set_read_timeout(Some(STEP)).expect("read timeout");
        }
        let mut desk = Desk { ws, next_id: 1 };
        let req = json!({"type":"sign_in","agent":agent,"password":format!("demo{agent}"),"device":device});
        let signed = desk.call(req);
        assert_eq!(signed["type"], "signed_in", "{signed}");
        desk
    }

    fn next(&mut self) -> Value {
        loop {
            match self.ws.read().expect("desk message within 10 s") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected frame {other:?}"),
            }
        }
    }

    /// Sends `req` and returns its answer, skipping pushed messages.
    fn call(&mut self, mut req: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        req["id"] = json!(id);
        req["v"] = json!(1);
        self.ws
            .send(Message::Text(req.to_string().into()))
            .expect("send");
        for _ in 0..50 {
            let m = self.next();
            if m["reply_to"] == json!(id) {
                return m;
            }
        }
        panic!("no answer to {req}");
    }

    fn transfer(&mut self, to: Value) -> Value {
        self.call(json!({"type":"transfer","to":to}))
    }
}

/// A phone on 127.0.0.1 that nobody registered; the desk names its URI.
fn phone(user: &str) -> (Agent, String) {
    let placeholder: SocketAddr = "127.0.0.1:9".parse().expect("addr");
    let phone = Agent::unregistered(placeholder, user).expect("phone UA");
    let uri = format!("sip:{user}@127.0.0.1:{}", phone.leg.local.port);
    (phone, uri)
}

/// The phone's INVITE answered (180, 200, ACK); returns the relay's B side
/// from its offer.
fn answer(phone: &mut Agent, who: &str) -> SocketAddr {
    let invite = phone
        .expect_invite(STEP)
        .unwrap_or_else(|e| panic!("INVITE to {who}'s phone: {e}"));
    let offer = parse_offer(&invite.body).expect("an SDP offer");
    phone.ring().expect("180");
    phone.answer().expect("200");
    phone.expect_ack(STEP).expect("ACK");
    SocketAddr::new(offer.connection, offer.audio_port)
}

/// Dial 100, hear the welcome, press 0; 1001's phone answers and the two
/// talk. Returns the caller, the relay's A side and 1001's phone.
fn caller_with_1001(server: &TestServer, a_phone: &mut Agent) -> (Caller, SocketAddr) {
    let mut caller = Caller::new(server.udp, "5550001").expect("caller UA");
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(ok.code, 200);
    let relay_a = caller.remote_media().expect("SDP answer");
    assert!(caller.recv_rtp(STEP, 10).count() >= 10, "welcome");
    caller.send_dtmf('0').expect("DTMF 0");
    let relay_b = answer(a_phone, "1001");
    assert_hears(
        &mut caller.leg.media,
        &mut a_phone.leg.media,
        CALLER_FILL,
        relay_b,
    );
    (caller, relay_a)
}

fn wait_cdr(server: &TestServer) -> Value {
    let cdr = poll_until(SETTLE, Duration::from_millis(100), || {
        let (status, body) = server.http_get("/api/calls?limit=10");
        events::json_array("GET /api/calls", status, &body)
            .into_iter()
            .next()
    });
    cdr.unwrap_or_else(|| panic!("no CDR within {SETTLE:?}"))
}

fn transferred(log: &mut EventLog) -> Value {
    let found = log.collect_until(SETTLE, |evs| {
        evs.iter().any(|e| e["event"] == "Transferred")
    });
    assert!(found, "no Transferred event: {:?}", log.events);
    log.events
        .iter()
        .find(|e| e["event"] == "Transferred")
        .cloned()
        .unwrap_or_default()
}

#[test]
fn blind_transfer_to_an_agent_byes_the_first_and_bridges_the_second() {
    let server = start();
    let mut log = EventLog::connect(server.http).expect("event stream");
    let (mut a_phone, a_uri) = phone("1001");
    let (mut b_phone, b_uri) = phone("1002");
    a_phone.leg.server = server.udp;
    b_phone.leg.server = server.udp;
    let mut a = Desk::sign_in(&server, "1001", &a_uri);
    let mut b = Desk::sign_in(&server, "1002", &b_uri);
    // 1002 on a break: 1001 gets the caller.
    assert_eq!(
        b.call(json!({"type":"break","reason":"lunch"}))["type"],
        "ok"
    );
    let (mut caller, relay_a) = caller_with_1001(&server, &mut a_phone);

    // Refusals first: the call stays with 1001.
    assert_eq!(a.transfer(json!({"agent":"1002"}))["code"], "busy");
    assert_eq!(a.transfer(json!({"agent":"1003"}))["code"], "unknown_agent");
    assert_eq!(a.transfer(json!({"queue":"nope"}))["code"], "refused");
    assert_eq!(a.transfer(json!({"agent":""}))["code"], "bad_field");
    assert_eq!(
        b.transfer(json!({"queue":"support"}))["code"],
        "refused",
        "1002 has no call"
    );

    assert_eq!(b.call(json!({"type":"ready"}))["type"], "ok");
    let ok = a.transfer(json!({"agent":"1002"}));
    assert_eq!(ok["type"], "ok", "{ok}");
    assert_eq!(ok["agent"]["state"]["state"], "wrap_up", "{ok}");
    a_phone
        .leg
        .expect_request(Method::Bye, STEP)
        .expect("BYE to 1001's phone");
    let relay_b = answer(&mut b_phone, "1002");
    assert_hears(
        &mut caller.leg.media,
        &mut b_phone.leg.media,
        CALLER_FILL,
        relay_b,
    );
    assert_hears(
        &mut b_phone.leg.media,
        &mut caller.leg.media,
        AGENT_FILL,
        relay_a,
    );

    let ev = transferred(&mut log);
    assert_eq!(ev["from"], "1001", "{ev}");
    assert_eq!(ev["to"], json!({"kind":"agent","agent":"1002"}), "{ev}");
    caller.bye().expect("caller BYE answered");
    b_phone
        .leg
        .expect_request(Method::Bye, STEP)
        .expect("BYE to 1002's phone");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["agent"], "1002", "{cdr}");
    assert_eq!(cdr["agents"], "1001,1002", "{cdr}");
    assert_eq!(cdr["end_cause"], "normal_clearing", "{cdr}");
    server.stop();
}

#[test]
fn blind_transfer_to_a_queue_holds_the_caller_until_the_next_agent() {
    let server = start();
    let (mut a_phone, a_uri) = phone("1001");
    let (mut b_phone, b_uri) = phone("1002");
    a_phone.leg.server = server.udp;
    b_phone.leg.server = server.udp;
    let mut a = Desk::sign_in(&server, "1001", &a_uri);
    let mut b = Desk::sign_in(&server, "1002", &b_uri);
    assert_eq!(
        b.call(json!({"type":"break","reason":"lunch"}))["type"],
        "ok"
    );
    let (mut caller, relay_a) = caller_with_1001(&server, &mut a_phone);

    let ok = a.transfer(json!({"queue":"support"}));
    assert_eq!(ok["type"], "ok", "{ok}");
    a_phone
        .leg
        .expect_request(Method::Bye, STEP)
        .expect("BYE to 1001's phone");
    // The hold flow plays to the caller through the relay.
    caller.leg.media.flush();
    let hold = caller.recv_rtp(STEP, 25);
    assert!(hold.count() >= 25, "hold flow: {} packets", hold.count());
    assert_eq!(hold.sources(), [relay_a].into());
    assert_eq!(hold.with_fill(AGENT_FILL).count(), 0, "1001 is gone");
    let queued = server.http_get("/api/queues");
    assert!(queued.1.contains("\"waiting\":1"), "{queued:?}");

    // 1002 comes back: routing offers the caller, the hold stops.
    assert_eq!(b.call(json!({"type":"ready"}))["type"], "ok");
    let relay_b = answer(&mut b_phone, "1002");
    assert_hears(
        &mut caller.leg.media,
        &mut b_phone.leg.media,
        CALLER_FILL,
        relay_b,
    );
    assert_hears(
        &mut b_phone.leg.media,
        &mut caller.leg.media,
        AGENT_FILL,
        relay_a,
    );
    b_phone.bye().expect("1002 hangs up");
    caller
        .expect_request(Method::Bye, STEP)
        .expect("the caller gets BYE");
    let cdr = wait_cdr(&server);
    assert_eq!(cdr["agents"], "1001,1002", "{cdr}");
    assert_eq!(cdr["queue"], "support", "{cdr}");
    assert_eq!(
        cdr["ivr_script"], "main",
        "the first flow stays in the record: {cdr}"
    );
    server.stop();
}

#[test]
fn hold_plays_the_hold_flow_to_the_caller_and_retrieve_joins_the_agent_again() {
    let server = start();
    let mut log = EventLog::connect(server.http).expect("event stream");
    let (mut a_phone, a_uri) = phone("1001");
    a_phone.leg.server = server.udp;
    let mut a = Desk::sign_in(&server, "1001", &a_uri);
    assert_eq!(
        a.call(json!({"type":"retrieve"}))["code"],
        "refused",
        "no call"
    );
    let (mut caller, relay_a) = caller_with_1001(&server, &mut a_phone);
    let relay_b = a_phone.leg.media.remote.expect("1001 media peer");

    let held = a.call(json!({"type":"hold"}));
    assert_eq!(held["type"], "ok", "{held}");
    assert_eq!(held["agent"]["contact"]["held"], true, "{held}");
    assert_eq!(held["agent"]["state"]["state"], "in_call", "{held}");
    assert_eq!(
        a.call(json!({"type":"hold"}))["code"],
        "refused",
        "held already"
    );
    // Once the hold flow answered (its first frames), the caller hears it
    // and not 1001 (the relay refuses 1001's packets now).
    caller.leg.media.flush();
    let started = caller
        .leg
        .media
        .recv_rtp_until(STEP, |s| s.count() - s.with_fill(AGENT_FILL).count() >= 5);
    assert!(started.count() >= 5, "the hold flow starts");
    caller.leg.media.flush();
    let _ = a_phone.leg.media.talk(Duration::from_millis(600));
    let hold = caller.recv_rtp(STEP, 40);
    assert!(hold.count() >= 40, "hold flow: {} packets", hold.count());
    assert_eq!(
        hold.with_fill(AGENT_FILL).count(),
        0,
        "1001 is not heard while held"
    );
    assert_eq!(hold.sources(), [relay_a].into());

    let back = a.call(json!({"type":"retrieve"}));
    assert_eq!(back["type"], "ok", "{back}");
    assert_eq!(back["agent"]["contact"]["held"], false, "{back}");
    assert_hears(
        &mut a_phone.leg.media,
        &mut caller.leg.media,
        AGENT_FILL,
        relay_a,
    );
    assert_hears(
        &mut caller.leg.media,
        &mut a_phone.leg.media,
        CALLER_FILL,
        relay_b,
    );
    let found = log.collect_until(SETTLE, |evs| evs.iter().any(|e| e["event"] == "Retrieved"));
    assert!(found, "no Retrieved event");
    let names: Vec<&str> = log
        .events
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|n| *n == "Held" || *n == "Retrieved")
        .collect();
    assert_eq!(names, ["Held", "Retrieved"]);
    caller.bye().expect("caller BYE answered");
    a_phone
        .leg
        .expect_request(Method::Bye, STEP)
        .expect("BYE to 1001's phone");
    server.stop();
}
