//! The desk protocol as a third-party desktop uses it (docs/desk-protocol.md):
//! a plain WebSocket client against a real softacd on loopback. Sign-in with
//! a wrong password is refused; an agent signs in on any SIP URI; bad
//! messages and refused commands get JSON errors and the connection stays;
//! the HTTP agent list shows what the desk did; sign-out.

mod common;

use common::{desk_config, http_get, TestServer};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

const GUARD: Duration = Duration::from_secs(10);

async fn next_json(ws: &mut Ws) -> Value {
    loop {
        let frame = tokio::time::timeout(GUARD, ws.next())
            .await
            .expect("no message within 10 s")
            .expect("socket closed")
            .expect("socket error");
        match frame {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected frame {other:?}"),
        }
    }
}

/// Sends `req` and returns the message answering it (`reply_to` = `id`),
/// skipping pushed messages; every message must carry `"v": 1`.
async fn call(ws: &mut Ws, id: u64, mut req: Value) -> Value {
    req["id"] = json!(id);
    req["v"] = json!(1);
    ws.send(Message::Text(req.to_string().into()))
        .await
        .expect("send");
    for _ in 0..20 {
        let m = next_json(ws).await;
        assert_eq!(m["v"], 1, "{m}");
        if m["reply_to"] == json!(id) {
            return m;
        }
    }
    panic!("no answer to request {id}");
}

fn agent_1001(server: &TestServer) -> Value {
    let (status, body) = http_get(server.http, "/api/agents").expect("GET /api/agents");
    assert_eq!(status, 200);
    let list: Vec<Value> = serde_json::from_str(&body).expect("JSON");
    list.into_iter()
        .find(|a| a["id"] == "1001")
        .expect("agent 1001 listed")
}

#[tokio::test]
async fn a_third_party_desktop_signs_in_on_any_sip_uri_and_gets_json_errors() {
    let hash = softacd::http::desk::password::hash("demo1001").expect("hash");
    let server = TestServer::start_with_config(|dir| desk_config(dir, &hash, 30));
    let url = format!("ws://{}/api/desk", server.http);
    let (mut ws, _) = tokio::time::timeout(GUARD, tokio_tungstenite::connect_async(url))
        .await
        .expect("connect in time")
        .expect("upgrade");

    let hello = next_json(&mut ws).await;
    assert_eq!(hello["type"], "hello");
    assert_eq!(
        hello["dispositions"],
        json!(["resolved", "callback", "escalated"])
    );

    let not_yet = call(&mut ws, 1, json!({"type":"ready"})).await;
    assert_eq!(not_yet["code"], "not_signed_in");
    let wrong = json!({"type":"sign_in","agent":"1001","password":"demo1002"});
    assert_eq!(call(&mut ws, 2, wrong).await["code"], "auth_failed");
    let no_hash = json!({"type":"sign_in","agent":"1002","password":"demo1002"});
    assert_eq!(
        call(&mut ws, 3, no_hash).await["code"],
        "auth_failed",
        "a seat without agent_password_hash cannot sign in"
    );
    assert_eq!(agent_1001(&server)["status"]["status"], "logged_out");

    let device = "sip:agent1001@127.0.0.1:5999";
    let sign_in = json!({"type":"sign_in","agent":"1001","password":"demo1001","device":device});
    let signed = call(&mut ws, 4, sign_in).await;
    assert_eq!(signed["type"], "signed_in", "{signed}");
    assert_eq!(signed["agent"]["device"], device);
    assert_eq!(signed["agent"]["status"]["status"], "available");

    let nap = call(&mut ws, 5, json!({"type":"break","reason":"nap"})).await;
    assert_eq!(nap["code"], "bad_reason");
    let lunch = call(&mut ws, 6, json!({"type":"break","reason":"lunch"})).await;
    assert_eq!(lunch["type"], "ok");
    assert_eq!(
        lunch["agent"]["status"],
        json!({"status":"not_ready","reason":"lunch"})
    );
    let listed = agent_1001(&server);
    assert_eq!(listed["status"]["reason"], "lunch");
    assert_eq!(listed["device"], device);

    let hang_up = call(&mut ws, 7, json!({"type":"hang_up"})).await;
    assert_eq!(hang_up["code"], "refused", "no call to hang up: {hang_up}");
    let bad_code = json!({"type":"disposition","contact":1,"code":"nope"});
    assert_eq!(call(&mut ws, 8, bad_code).await["code"], "bad_disposition");
    let no_call = json!({"type":"disposition","contact":999,"code":"resolved"});
    assert_eq!(call(&mut ws, 9, no_call).await["code"], "unknown_contact");

    ws.send(Message::Text("{{{ not json".into()))
        .await
        .expect("send");
    let garbage = next_json(&mut ws).await;
    assert_eq!(
        (garbage["type"].as_str(), garbage["code"].as_str()),
        (Some("error"), Some("bad_message"))
    );
    let history = call(&mut ws, 10, json!({"type":"history"})).await;
    assert_eq!(history["type"], "history", "the connection survived");
    assert_eq!(history["calls"], json!([]));

    let out = call(&mut ws, 11, json!({"type":"sign_out"})).await;
    assert_eq!(out["type"], "signed_out");
    assert_eq!(agent_1001(&server)["status"]["status"], "logged_out");
    let after = call(&mut ws, 12, json!({"type":"ready"})).await;
    assert_eq!(after["code"], "not_signed_in");
}
