//! Registrar and capability checks against a real `softacd run`, driven by the
//! SIPp scenarios in `sip-tests/` over UDP (`-t u1`) and TCP (`-t t1`).
//!
//! Follows RFC 3261 section 10 (REGISTER: add, refresh, remove with Expires: 0
//! and `Contact: *`), section 22 with RFC 8760 digest authentication (401 then
//! 200, wrong password 403) and section 11 (OPTIONS). After each SIPp run the
//! management API (GET /api/registrations) must agree with what SIPp saw.
//! Mission step: "agents register their phones"; "load-testing it with SIPp".

mod common;

use common::{sip_tests_path, sipp, TestServer};

/// Credentials of seat 1001 for SIPp: request-URI user and digest user/password.
const SEAT_1001: [&str; 6] = ["-s", "1001", "-au", "1001", "-ap", "demo1001"];

/// "udp" or "tcp": the prefix of a binding's `source` for a SIPp transport.
fn source_prefix(transport: &str) -> &'static str {
    if transport == "t1" {
        "tcp:"
    } else {
        "udp:"
    }
}

fn register_auth_then_listed(transport: &str) {
    check_register_listed(TestServer::start(), transport);
}

/// With SHA-256 offered second, SIPp (MD5 only, first challenge only) still
/// registers: the preference order of `digest_algorithms` is what it sees.
#[test]
fn register_auth_with_sha256_offered_second_udp() {
    let server = TestServer::start_with_config(|d| {
        TestServer::config_with_registrar(d, "digest_algorithms = [\"MD5\", \"SHA-256\"]\n")
    });
    check_register_listed(server, "u1");
}

fn check_register_listed(server: TestServer, transport: &str) {
    assert!(
        server.bindings_of("1001").is_empty(),
        "fresh server has bindings"
    );

    sipp(
        "register_auth.xml",
        transport,
        server.sip_addr(transport),
        &SEAT_1001,
    );

    let bindings = server.bindings_of("1001");
    assert_eq!(bindings.len(), 1, "one binding for 1001: {bindings:?}");
    let b = &bindings[0];
    let field = |k: &str| b.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    assert!(field("contact").starts_with("sip:1001@127.0.0.1:"), "{b}");
    assert!(field("aor").starts_with("sip:1001@"), "{b}");
    assert!(
        field("source").starts_with(source_prefix(transport)),
        "binding source must name the transport: {b}"
    );
    let expires_in = b.get("expires_in").and_then(|v| v.as_u64()).unwrap_or(0);
    assert!(
        (1..=3600).contains(&expires_in),
        "expires_in within the 3600 s asked for: {b}"
    );
}

fn wrong_password_is_forbidden(transport: &str) {
    let server = TestServer::start();
    sipp(
        "register_wrong_password.xml",
        transport,
        server.sip_addr(transport),
        &["-s", "1001", "-au", "1001"],
    );
    assert!(
        server.bindings_of("1001").is_empty(),
        "a refused REGISTER must not create a binding"
    );
}

fn unregister_removes_binding(scenario: &str, transport: &str) {
    let server = TestServer::start();
    // A binding of another seat must survive 1001 removing its own.
    sipp(
        "register_auth.xml",
        transport,
        server.sip_addr(transport),
        &["-s", "1002", "-au", "1002", "-ap", "demo1002"],
    );
    sipp(scenario, transport, server.sip_addr(transport), &SEAT_1001);
    assert!(
        server.bindings_of("1001").is_empty(),
        "{scenario}: 1001 still listed: {:?}",
        server.registrations()
    );
    assert_eq!(
        server.bindings_of("1002").len(),
        1,
        "{scenario}: removing 1001 touched 1002"
    );
}

fn options_answered(transport: &str) {
    let server = TestServer::start();
    sipp("options.xml", transport, server.sip_addr(transport), &[]);
}

fn load_registers_every_seat(transport: &str) {
    let server = TestServer::start();
    let users = sip_tests_path("load/users.csv");
    let users = users.to_string_lossy();
    // 30 full registrations at 30/s: every seat of the injection file, 10 times each.
    sipp(
        "load/register.xml",
        transport,
        server.sip_addr(transport),
        &["-inf", &users, "-m", "30", "-r", "30", "-l", "10"],
    );
    for user in ["1001", "1002", "1003"] {
        assert_eq!(
            server.bindings_of(user).len(),
            1,
            "{user}: re-registering the same contact keeps one binding: {:?}",
            server.registrations()
        );
    }
}

#[test]
fn register_auth_udp() {
    register_auth_then_listed("u1");
}

#[test]
fn register_auth_tcp() {
    register_auth_then_listed("t1");
}

#[test]
fn register_wrong_password_udp() {
    wrong_password_is_forbidden("u1");
}

#[test]
fn register_wrong_password_tcp() {
    wrong_password_is_forbidden("t1");
}

#[test]
fn unregister_expires_zero_udp() {
    unregister_removes_binding("unregister.xml", "u1");
}

#[test]
fn unregister_expires_zero_tcp() {
    unregister_removes_binding("unregister.xml", "t1");
}

#[test]
fn unregister_contact_star_udp() {
    unregister_removes_binding("unregister_all.xml", "u1");
}

#[test]
fn unregister_contact_star_tcp() {
    unregister_removes_binding("unregister_all.xml", "t1");
}

#[test]
fn options_udp() {
    options_answered("u1");
}

#[test]
fn options_tcp() {
    options_answered("t1");
}

#[test]
fn load_register_udp() {
    load_registers_every_seat("u1");
}

#[test]
fn load_register_tcp() {
    load_registers_every_seat("t1");
}

/// The harness contract itself: health, metrics, and a graceful SIGTERM.
#[test]
fn server_serves_health_and_metrics_then_stops_on_sigterm() {
    let server = TestServer::start();
    let (status, body) = server.http_get("/healthz");
    assert_eq!(status, 200, "/healthz: {body}");
    let health: serde_json::Value = match serde_json::from_str(&body) {
        Ok(v) => v,
        Err(e) => panic!("/healthz is not JSON ({e}): {body}"),
    };
    assert_eq!(health["status"], "ok", "/healthz: {body}");
    let (status, _metrics) = server.http_get("/metrics");
    assert_eq!(status, 200, "/metrics");
    assert!(
        server.data_dir.is_absolute(),
        "data dir line must carry an absolute path: {:?}",
        server.data_dir
    );
    let exit = server.stop();
    assert!(
        exit.success(),
        "SIGTERM must end softacd with exit 0, got {exit}"
    );
}
