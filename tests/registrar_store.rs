//! A seat's softphone registers, the server restarts, and the registration
//! is still there: the registrar core and its SQLite store together, through
//! the public API only (RFC 3261 §10.3, bindings persisted across restarts).

use softacd::registrar::digest::{self, Algorithm, ResponseInput};
use softacd::registrar::{BindingStore, RegisterEvent, Registrar, RegistrarConfig};
use softacd::sip::{parse_message, Message, Peer, Request};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const WALL: u64 = 1_700_000_000_000;

fn cfg() -> RegistrarConfig {
    RegistrarConfig {
        realm: "acd.example".into(),
        domain: Some("acd.example".into()),
        users: BTreeMap::from([("2001".to_string(), "agentpw".to_string())]),
        min_expires: 60,
        max_expires: 3600,
        default_expires: 600,
        nonce_ttl: Duration::from_secs(300),
        max_bindings_per_aor: 4,
        algorithms: vec![
            softacd::registrar::digest::Algorithm::Sha256,
            softacd::registrar::digest::Algorithm::Md5,
        ],
    }
}

fn register(cseq: u32, extra: &str) -> Request {
    let raw = format!(
        "REGISTER sip:acd.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 10.0.0.7:5060;branch=z9hG4bK{cseq}\r\n\
         From: <sip:2001@acd.example>;tag=a\r\nTo: <sip:2001@acd.example>\r\n\
         Call-ID: seat-7\r\nCSeq: {cseq} REGISTER\r\n{extra}\r\n"
    );
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test request did not parse: {other:?}"),
    }
}

fn nonce_of(challenge: &str) -> String {
    let params = digest::parse_auth_params(challenge.trim_start_matches("Digest")).unwrap();
    params.into_iter().find(|(k, _)| k == "nonce").unwrap().1
}

fn authorization(nonce: &str) -> String {
    let response = digest::compute_response(&ResponseInput {
        algorithm: Algorithm::Sha256,
        username: "2001",
        realm: "acd.example",
        password: "agentpw",
        method: "REGISTER",
        uri: "sip:acd.example",
        nonce,
        qop: Some(("00000001", "abc", "auth")),
    });
    format!(
        "Authorization: Digest username=\"2001\", realm=\"acd.example\", nonce=\"{nonce}\", \
         uri=\"sip:acd.example\", response=\"{response}\", algorithm=SHA-256, qop=auth, \
         nc=00000001, cnonce=\"abc\"\r\n"
    )
}

#[tokio::test]
async fn a_registration_survives_a_restart_and_expires_after_it() {
    let path = std::env::temp_dir().join(format!("softacd-regstore-{}.db", std::process::id()));
    let peer = Peer::udp("10.0.0.7:5060".parse().unwrap());
    let now = Instant::now();

    let store = BindingStore::open(&path).await.unwrap();
    let mut before = Registrar::new(cfg(), [5; 32]);
    let challenge = before.handle_register(now, WALL, &register(1, ""), peer);
    let nonce = nonce_of(challenge.response.headers.get("WWW-Authenticate").unwrap());
    let contact = "Contact: <sip:2001@10.0.0.7:5060>;expires=120\r\n";
    let req = register(2, &format!("{contact}{}", authorization(&nonce)));
    let out = before.handle_register(now, WALL, &req, peer);
    assert!(matches!(out.event, RegisterEvent::Registered { .. }));
    store.apply(&out.changes).await.unwrap();
    store.close().await;
    drop(before);

    let store = BindingStore::open(&path).await.unwrap();
    let mut after = Registrar::new(cfg(), [6; 32]);
    after.restore(store.load_all().await.unwrap(), WALL + 60_000);
    let seat = after.lookup("2001");
    assert_eq!(seat.len(), 1);
    assert_eq!(seat[0].contact, "sip:2001@10.0.0.7:5060");
    assert_eq!(seat[0].source, "udp:10.0.0.7:5060");

    let removed = after.expire(WALL + 120_000);
    store.apply(&removed).await.unwrap();
    assert!(store.load_all().await.unwrap().is_empty());
    store.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.clone().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
