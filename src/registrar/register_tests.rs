//! Scenario tests of the registrar core: REGISTER flows of RFC 3261 §10.3
//! with digest authentication (RFC 7616), driven with injected time.

use super::digest::{self, Algorithm, ResponseInput};
use super::*;
use crate::sip::{parse_message, HeaderView, Message, Peer, Request};
use std::time::Instant;

const WALL: u64 = 1_700_000_000_000;

fn cfg() -> RegistrarConfig {
    let mut users = BTreeMap::new();
    users.insert("1001".to_string(), "secret1".to_string());
    users.insert("1002".to_string(), "secret2".to_string());
    RegistrarConfig {
        realm: "acd.example".into(),
        domain: Some("acd.example".into()),
        users,
        min_expires: 60,
        max_expires: 7200,
        default_expires: 3600,
        nonce_ttl: Duration::from_secs(300),
        max_bindings_per_aor: 3,
        algorithms: vec![
            crate::registrar::digest::Algorithm::Sha256,
            crate::registrar::digest::Algorithm::Md5,
        ],
    }
}

fn peer() -> Peer {
    Peer::udp("127.0.0.1:5062".parse().unwrap())
}

/// A REGISTER as a phone would send it; `extra` holds whole header lines.
fn register(to_user: &str, call_id: &str, cseq: u32, extra: &[String]) -> Request {
    let mut raw = format!(
        "REGISTER sip:acd.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK{cseq}\r\n\
         From: <sip:{to_user}@acd.example>;tag=ph\r\n\
         To: <sip:{to_user}@acd.example>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         User-Agent: test-phone\r\n"
    );
    for line in extra {
        raw.push_str(line);
        raw.push_str("\r\n");
    }
    raw.push_str("\r\n");
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test request did not parse: {other:?}"),
    }
}

fn param_of(challenge: &str, name: &str) -> Option<String> {
    let params = digest::parse_auth_params(challenge.strip_prefix("Digest")?).ok()?;
    params.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// An Authorization line answering `challenge`.
fn authorization(challenge: &str, user: &str, password: &str, nc: u32) -> String {
    let alg = Algorithm::from_token(&param_of(challenge, "algorithm").unwrap()).unwrap();
    let nonce = param_of(challenge, "nonce").unwrap();
    let realm = param_of(challenge, "realm").unwrap();
    let nc = format!("{nc:08x}");
    let response = digest::compute_response(&ResponseInput {
        algorithm: alg,
        username: user,
        realm: &realm,
        password,
        method: "REGISTER",
        uri: "sip:acd.example",
        nonce: &nonce,
        qop: Some((&nc, "c0ffee", "auth")),
    });
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", \
         uri=\"sip:acd.example\", response=\"{response}\", algorithm={}, qop=auth, \
         nc={nc}, cnonce=\"c0ffee\"",
        alg.as_str()
    )
}

/// Get a challenge (the SHA-256 one unless `md5`).
fn get_challenge(r: &mut Registrar, now: Instant, md5: bool) -> String {
    let out = r.handle_register(now, WALL, &register("1001", "ch", 1, &[]), peer());
    assert_eq!(out.response.code, 401);
    let hs: Vec<&str> = out.response.headers.get_all("WWW-Authenticate").collect();
    hs[usize::from(md5)].to_string()
}

fn contacts_of(resp: &crate::sip::Response) -> Vec<String> {
    resp.headers
        .get_all("Contact")
        .map(str::to_string)
        .collect()
}

/// Register `extra` headers for 1001 with fresh credentials.
fn send_authed(
    r: &mut Registrar,
    now: Instant,
    wall: u64,
    call_id: &str,
    cseq: u32,
    extra: &[&str],
) -> RegisterOutcome {
    let ch = get_challenge(r, now, false);
    let mut lines: Vec<String> = extra.iter().map(|s| s.to_string()).collect();
    lines.push(authorization(&ch, "1001", "secret1", 1));
    r.handle_register(now, wall, &register("1001", call_id, cseq, &lines), peer())
}

#[test]
fn no_credentials_gets_sha256_then_md5_challenges() {
    let mut r = Registrar::new(cfg(), [1; 32]);
    let out = r.handle_register(Instant::now(), WALL, &register("1001", "c", 1, &[]), peer());
    assert_eq!(out.response.code, 401);
    assert_eq!(out.event, RegisterEvent::Challenged { stale: false });
    assert!(out.response.to_hdr().unwrap().tag().is_some());
    let hs: Vec<&str> = out.response.headers.get_all("WWW-Authenticate").collect();
    assert_eq!(hs.len(), 2);
    assert_eq!(param_of(hs[0], "algorithm").as_deref(), Some("SHA-256"));
    assert_eq!(param_of(hs[1], "algorithm").as_deref(), Some("MD5"));
    for h in &hs {
        assert_eq!(param_of(h, "qop").as_deref(), Some("auth"));
        assert_eq!(param_of(h, "realm").as_deref(), Some("acd.example"));
        assert_eq!(param_of(h, "stale"), None);
    }
    assert_eq!(param_of(hs[0], "nonce"), param_of(hs[1], "nonce"));
    assert!(out.changes.is_empty());
}

#[test]
fn good_credentials_register_with_either_algorithm() {
    for md5 in [false, true] {
        let mut r = Registrar::new(cfg(), [2; 32]);
        let now = Instant::now();
        let ch = get_challenge(&mut r, now, md5);
        let req = register(
            "1001",
            "c",
            2,
            &[
                "Contact: <sip:1001@10.0.0.9:5062>".into(),
                authorization(&ch, "1001", "secret1", 1),
            ],
        );
        let out = r.handle_register(now, WALL, &req, peer());
        assert_eq!(out.response.code, 200, "md5={md5}");
        assert_eq!(
            contacts_of(&out.response),
            ["<sip:1001@10.0.0.9:5062>;expires=3600"]
        );
        assert_eq!(
            out.event,
            RegisterEvent::Registered {
                user: "1001".into(),
                contacts: vec!["sip:1001@10.0.0.9:5062".into()]
            }
        );
        let [BindingChange::Upsert(b)] = &out.changes[..] else {
            panic!("expected one upsert: {:?}", out.changes);
        };
        assert_eq!(b.aor, "sip:1001@acd.example");
        assert_eq!(b.source, "udp:127.0.0.1:5062");
        assert_eq!(b.user_agent.as_deref(), Some("test-phone"));
        assert_eq!(b.expires_at_ms, WALL + 3_600_000);
        assert_eq!(r.lookup("1001").len(), 1);
    }
}

#[test]
fn several_contacts_per_aor_and_param_beats_header() {
    let mut r = Registrar::new(cfg(), [3; 32]);
    let now = Instant::now();
    let out = send_authed(
        &mut r,
        now,
        WALL,
        "c",
        2,
        &[
            "Contact: <sip:a@10.0.0.1>;expires=120, <sip:b@10.0.0.2>",
            "Expires: 300",
        ],
    );
    assert_eq!(out.response.code, 200);
    let out = send_authed(
        &mut r,
        now,
        WALL + 10_000,
        "c",
        3,
        &["Contact: <sip:c@10.0.0.3>;q=0.5"],
    );
    let got = contacts_of(&out.response);
    assert_eq!(
        got,
        [
            "<sip:a@10.0.0.1>;expires=110",
            "<sip:b@10.0.0.2>;expires=290",
            "<sip:c@10.0.0.3>;expires=3600;q=0.5"
        ]
    );
    let order: Vec<&str> = r
        .lookup("1001")
        .iter()
        .map(|b| b.contact.as_str())
        .collect();
    // c is the newest but has the lowest q.
    assert_eq!(
        order,
        ["sip:a@10.0.0.1", "sip:b@10.0.0.2", "sip:c@10.0.0.3"]
    );
}

#[test]
fn too_brief_gets_423_and_too_long_is_clamped() {
    let mut r = Registrar::new(cfg(), [4; 32]);
    let now = Instant::now();
    let out = send_authed(
        &mut r,
        now,
        WALL,
        "c",
        2,
        &["Contact: <sip:a@10.0.0.1>", "Expires: 10"],
    );
    assert_eq!(out.response.code, 423);
    assert_eq!(out.response.headers.get("Min-Expires"), Some("60"));
    assert!(out.changes.is_empty());
    assert_eq!(r.bindings().count(), 0);
    let out = send_authed(
        &mut r,
        now,
        WALL,
        "c",
        3,
        &["Contact: <sip:a@10.0.0.1>;expires=999999"],
    );
    assert_eq!(
        contacts_of(&out.response),
        ["<sip:a@10.0.0.1>;expires=7200"]
    );
}

#[test]
fn expires_zero_removes_that_contact_only() {
    let mut r = Registrar::new(cfg(), [5; 32]);
    let now = Instant::now();
    send_authed(
        &mut r,
        now,
        WALL,
        "c",
        2,
        &["Contact: <sip:a@10.0.0.1>, <sip:b@10.0.0.2>"],
    );
    let out = send_authed(
        &mut r,
        now,
        WALL,
        "c",
        3,
        &["Contact: <sip:a@10.0.0.1>;expires=0"],
    );
    assert_eq!(out.response.code, 200);
    assert_eq!(
        contacts_of(&out.response),
        ["<sip:b@10.0.0.2>;expires=3600"]
    );
    assert_eq!(
        out.changes,
        vec![BindingChange::Remove {
            aor: "sip:1001@acd.example".into(),
            contact: "sip:a@10.0.0.1".into()
        }]
    );
}

#[test]
fn star_with_expires_zero_removes_all() {
    let mut r = Registrar::new(cfg(), [6; 32]);
    let now = Instant::now();
    send_authed(
        &mut r,
        now,
        WALL,
        "c",
        2,
        &["Contact: <sip:a@10.0.0.1>, <sip:b@10.0.0.2>"],
    );
    let out = send_authed(&mut r, now, WALL, "c", 3, &["Contact: *", "Expires: 0"]);
    assert_eq!(out.response.code, 200);
    assert!(contacts_of(&out.response).is_empty());
    assert_eq!(out.changes.len(), 2);
    assert_eq!(
        out.event,
        RegisterEvent::Unregistered {
            user: "1001".into()
        }
    );
    assert!(r.lookup("1001").is_empty());
}

#[test]
fn star_misuse_is_400_and_changes_nothing() {
    let mut r = Registrar::new(cfg(), [7; 32]);
    let now = Instant::now();
    send_authed(&mut r, now, WALL, "c", 2, &["Contact: <sip:a@10.0.0.1>"]);
    let cases: [&[&str]; 3] = [
        &["Contact: *"],
        &["Contact: *", "Expires: 60"],
        &["Contact: *, <sip:b@10.0.0.2>", "Expires: 0"],
    ];
    for (i, extra) in cases.into_iter().enumerate() {
        let cseq = 3 + u32::try_from(i).unwrap();
        let out = send_authed(&mut r, now, WALL, "c", cseq, extra);
        assert_eq!(out.response.code, 400, "{extra:?}");
        assert!(matches!(
            out.event,
            RegisterEvent::Rejected { code: 400, .. }
        ));
    }
    assert_eq!(r.bindings().count(), 1);
}

#[test]
fn no_contact_is_a_query() {
    let mut r = Registrar::new(cfg(), [8; 32]);
    let now = Instant::now();
    send_authed(&mut r, now, WALL, "c", 2, &["Contact: <sip:a@10.0.0.1>"]);
    let out = send_authed(&mut r, now, WALL + 1_000, "c", 3, &[]);
    assert_eq!(out.response.code, 200);
    assert_eq!(
        contacts_of(&out.response),
        ["<sip:a@10.0.0.1>;expires=3599"]
    );
    assert_eq!(
        out.event,
        RegisterEvent::Queried {
            user: "1001".into()
        }
    );
    assert!(out.changes.is_empty());
}

#[test]
fn same_call_id_old_cseq_fails_with_500_other_call_id_wins() {
    let mut r = Registrar::new(cfg(), [9; 32]);
    let now = Instant::now();
    send_authed(&mut r, now, WALL, "c", 10, &["Contact: <sip:a@10.0.0.1>"]);
    let out = send_authed(
        &mut r,
        now,
        WALL,
        "c",
        10,
        &["Contact: <sip:a@10.0.0.1>;expires=0"],
    );
    assert_eq!(out.response.code, 500);
    assert!(out.changes.is_empty());
    assert_eq!(r.bindings().count(), 1);
    let out = send_authed(
        &mut r,
        now,
        WALL,
        "rebooted",
        1,
        &["Contact: <sip:a@10.0.0.1>;expires=0"],
    );
    assert_eq!(out.response.code, 200);
    assert_eq!(r.bindings().count(), 0);
}

#[test]
fn authenticated_user_must_own_the_to_uri() {
    let mut r = Registrar::new(cfg(), [10; 32]);
    let now = Instant::now();
    let ch = get_challenge(&mut r, now, false);
    let req = register(
        "1002",
        "c",
        2,
        &[
            "Contact: <sip:x@10.0.0.1>".into(),
            authorization(&ch, "1001", "secret1", 1),
        ],
    );
    let out = r.handle_register(now, WALL, &req, peer());
    assert_eq!(out.response.code, 403);
    assert!(matches!(
        out.event,
        RegisterEvent::Rejected { code: 403, .. }
    ));
    assert_eq!(r.bindings().count(), 0);
}

#[test]
fn wrong_password_and_unknown_user_look_the_same() {
    let mut r = Registrar::new(cfg(), [11; 32]);
    let now = Instant::now();
    let mut answers = Vec::new();
    for (user, pw) in [("1001", "wrong"), ("9999", "whatever")] {
        let ch = get_challenge(&mut r, now, false);
        let req = register(user, "c", 2, &[authorization(&ch, user, pw, 1)]);
        let out = r.handle_register(now, WALL, &req, peer());
        assert_eq!(out.event, RegisterEvent::AuthFailed { user: user.into() });
        let mut resp = out.response;
        resp.headers.remove("To");
        resp.headers.remove("From");
        answers.push(resp);
    }
    assert_eq!(answers[0].code, 403);
    assert_eq!(answers[0], answers[1]);
}

#[test]
fn stale_nonce_gets_401_stale_true() {
    let mut r = Registrar::new(cfg(), [12; 32]);
    let t0 = Instant::now();
    let ch = get_challenge(&mut r, t0, false);
    let later = t0 + Duration::from_secs(301);
    let req = register("1001", "c", 2, &[authorization(&ch, "1001", "secret1", 1)]);
    let out = r.handle_register(later, WALL, &req, peer());
    assert_eq!(out.response.code, 401);
    assert_eq!(out.event, RegisterEvent::Challenged { stale: true });
    let h = out.response.headers.get("WWW-Authenticate").unwrap();
    assert_eq!(param_of(h, "stale").as_deref(), Some("true"));
    // A wrong password with a stale nonce is still a plain 403.
    let req = register("1001", "c", 3, &[authorization(&ch, "1001", "nope", 1)]);
    assert_eq!(
        r.handle_register(later, WALL, &req, peer()).response.code,
        403
    );
}

#[test]
fn nonce_count_replay_gets_a_fresh_stale_challenge() {
    let mut r = Registrar::new(cfg(), [13; 32]);
    let now = Instant::now();
    let ch = get_challenge(&mut r, now, false);
    let auth1 = authorization(&ch, "1001", "secret1", 1);
    let first = register(
        "1001",
        "c",
        2,
        &["Contact: <sip:a@10.0.0.1>".into(), auth1.clone()],
    );
    assert_eq!(
        r.handle_register(now, WALL, &first, peer()).response.code,
        200
    );
    let replay = register(
        "1001",
        "c",
        3,
        &["Contact: <sip:evil@6.6.6.6>".into(), auth1],
    );
    let out = r.handle_register(now, WALL, &replay, peer());
    assert_eq!(out.response.code, 401);
    assert_eq!(out.event, RegisterEvent::Challenged { stale: true });
    let next = register(
        "1001",
        "c",
        4,
        &[
            "Contact: <sip:a@10.0.0.1>".into(),
            authorization(&ch, "1001", "secret1", 2),
        ],
    );
    assert_eq!(
        r.handle_register(now, WALL, &next, peer()).response.code,
        200
    );
    assert!(r
        .lookup("1001")
        .iter()
        .all(|b| b.contact == "sip:a@10.0.0.1"));
}

#[test]
fn foreign_nonce_and_missing_qop_get_a_fresh_challenge() {
    let mut r = Registrar::new(cfg(), [14; 32]);
    let now = Instant::now();
    let other = get_challenge(&mut Registrar::new(cfg(), [99; 32]), now, false);
    let req = register(
        "1001",
        "c",
        2,
        &[authorization(&other, "1001", "secret1", 1)],
    );
    let out = r.handle_register(now, WALL, &req, peer());
    assert_eq!(out.event, RegisterEvent::Challenged { stale: false });

    let ch = get_challenge(&mut r, now, true);
    let nonce = param_of(&ch, "nonce").unwrap();
    let response = digest::compute_response(&ResponseInput {
        algorithm: Algorithm::Md5,
        username: "1001",
        realm: "acd.example",
        password: "secret1",
        method: "REGISTER",
        uri: "sip:acd.example",
        nonce: &nonce,
        qop: None,
    });
    let rfc2069 = format!(
        "Authorization: Digest username=\"1001\", realm=\"acd.example\", nonce=\"{nonce}\", \
         uri=\"sip:acd.example\", response=\"{response}\""
    );
    let out = r.handle_register(now, WALL, &register("1001", "c", 3, &[rfc2069]), peer());
    assert_eq!(out.event, RegisterEvent::Challenged { stale: false });
}

#[test]
fn digest_uri_for_another_target_is_400_and_garbage_credentials_too() {
    let mut r = Registrar::new(cfg(), [15; 32]);
    let now = Instant::now();
    let ch = get_challenge(&mut r, now, false);
    let auth = authorization(&ch, "1001", "secret1", 1).replace("sip:acd.example", "sip:elsewhere");
    let out = r.handle_register(now, WALL, &register("1001", "c", 2, &[auth]), peer());
    assert_eq!(out.response.code, 400);
    let junk = "Authorization: Digest username=\"1001\", realm=\"acd.example\", nonce".to_string();
    let out = r.handle_register(now, WALL, &register("1001", "c", 3, &[junk]), peer());
    assert_eq!(out.response.code, 400);
}

#[test]
fn foreign_domain_is_404_loopback_is_ours() {
    let mut r = Registrar::new(cfg(), [16; 32]);
    let now = Instant::now();
    let mut req = register("1001", "c", 1, &[]);
    req.headers.set("To", "<sip:1001@elsewhere.example>");
    assert_eq!(
        r.handle_register(now, WALL, &req, peer()).response.code,
        404
    );
    req.headers.set("To", "<sip:1001@127.0.0.1>");
    assert_eq!(
        r.handle_register(now, WALL, &req, peer()).response.code,
        401
    );
}

#[test]
fn missing_headers_are_400_not_panics() {
    let mut r = Registrar::new(cfg(), [17; 32]);
    for name in ["To", "Call-ID", "CSeq"] {
        let mut req = register("1001", "c", 1, &[]);
        req.headers.remove(name);
        let out = r.handle_register(Instant::now(), WALL, &req, peer());
        assert_eq!(out.response.code, 400, "{name}");
    }
}

#[test]
fn too_many_contacts_is_503_and_changes_nothing() {
    let mut r = Registrar::new(cfg(), [18; 32]);
    let now = Instant::now();
    send_authed(
        &mut r,
        now,
        WALL,
        "c",
        2,
        &["Contact: <sip:a@1>, <sip:b@1>, <sip:c@1>"],
    );
    let out = send_authed(&mut r, now, WALL, "c", 3, &["Contact: <sip:d@1>"]);
    assert_eq!(out.response.code, 503);
    assert_eq!(r.bindings().count(), 3);
}

#[test]
fn expiry_timer_restore_and_request_time_purge() {
    let mut r = Registrar::new(cfg(), [19; 32]);
    let now = Instant::now();
    send_authed(
        &mut r,
        now,
        WALL,
        "c",
        2,
        &["Contact: <sip:a@1>;expires=60, <sip:b@1>;expires=120"],
    );
    assert_eq!(r.next_expiry(), Some(WALL + 60_000));
    let gone = r.expire(WALL + 60_000);
    assert_eq!(gone.len(), 1);
    let saved: Vec<Binding> = r.bindings().cloned().collect();

    let mut fresh = Registrar::new(cfg(), [20; 32]);
    let mut stranger = saved[0].clone();
    stranger.user = "ghost".into();
    stranger.contact = "sip:ghost@1".into();
    fresh.restore(vec![saved[0].clone(), stranger], WALL + 70_000);
    assert_eq!(fresh.lookup("1001").len(), 1);
    assert_eq!(
        fresh.bindings().count(),
        1,
        "unknown users are not restored"
    );
    let mut late = Registrar::new(cfg(), [21; 32]);
    late.restore(saved, WALL + 120_000);
    assert_eq!(
        late.bindings().count(),
        0,
        "expired bindings are not restored"
    );

    // A request after expiry reports the removal in its changes.
    let out = fresh.handle_register(now, WALL + 121_000, &register("1001", "c", 9, &[]), peer());
    assert_eq!(out.response.code, 401);
    assert_eq!(out.changes.len(), 1);
    assert!(fresh.lookup("1001").is_empty());
}

#[test]
fn check_auth_serves_other_methods() {
    let mut r = Registrar::new(cfg(), [22; 32]);
    let now = Instant::now();
    let mut invite = register("1001", "c", 1, &[]);
    invite.method = crate::sip::Method::Invite;
    let AuthResult::Challenge {
        headers,
        stale: false,
    } = r.check_auth(now, &invite)
    else {
        panic!("expected a challenge");
    };
    let line = authorization(&headers[0], "1001", "secret1", 1).replace("REGISTER", "INVITE");
    let nonce = param_of(&headers[0], "nonce").unwrap();
    let response = digest::compute_response(&ResponseInput {
        algorithm: Algorithm::Sha256,
        username: "1001",
        realm: "acd.example",
        password: "secret1",
        method: "INVITE",
        uri: "sip:acd.example",
        nonce: &nonce,
        qop: Some(("00000001", "c0ffee", "auth")),
    });
    let old = param_of(line.strip_prefix("Authorization: ").unwrap(), "response").unwrap();
    let line = line.replace(&old, &response);
    let value = line.strip_prefix("Authorization: ").unwrap();
    invite.headers.push("Proxy-Authorization", value);
    assert_eq!(
        r.check_auth(now, &invite),
        AuthResult::Authenticated {
            user: "1001".into()
        }
    );
}
