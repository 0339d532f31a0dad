//! Bad input over real sockets (RFC 3261 §8.2, §16.3, §18.3; issue 2): each
//! malformed request gets the answer the RFC asks for, junk gets none, and
//! the server keeps serving afterwards. Also the config checker's file:line
//! errors, JSON logs with the per-transaction span, and the metrics counters.

mod common;

use common::{TempDir, TestServer};
use std::io::{Read, Write};
use std::net::{TcpStream, UdpSocket};
use std::process::Command;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(3);

fn request(method: &str, branch: &str, extra: &str, omit: &str) -> String {
    let mut lines = vec![
        format!("Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK{branch}"),
        "Max-Forwards: 70".to_string(),
        "From: <sip:tester@127.0.0.1>;tag=t1".to_string(),
        "To: <sip:100@127.0.0.1>".to_string(),
        format!("Call-ID: {branch}@ingress-test"),
        format!("CSeq: 1 {method}"),
    ];
    lines.retain(|l| omit.is_empty() || !l.starts_with(omit));
    let mut msg = format!("{method} sip:100@127.0.0.1 SIP/2.0\r\n");
    for l in lines {
        msg.push_str(&l);
        msg.push_str("\r\n");
    }
    msg.push_str(extra);
    if !extra.contains("Content-Length") {
        msg.push_str("Content-Length: 0\r\n");
    }
    msg.push_str("\r\n");
    msg
}

/// Send one datagram and return the status line and headers of the answer,
/// or None if nothing came back within `WAIT`.
fn exchange(sock: &UdpSocket, server: std::net::SocketAddr, bytes: &[u8]) -> Option<String> {
    sock.send_to(bytes, server).expect("send");
    let mut buf = [0u8; 65_536];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
        Err(_) => None,
    }
}

fn status(resp: &str) -> u16 {
    resp.split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[test]
fn malformed_requests_get_rfc_answers_and_the_server_keeps_serving() {
    let server = TestServer::start();
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");

    let r = exchange(
        &sock,
        server.udp,
        request("OPTIONS", "m1", "", "Call-ID").as_bytes(),
    )
    .expect("answer");
    assert_eq!(status(&r), 400, "{r}");
    assert!(
        r.lines().next().unwrap_or("").contains("Call-ID"),
        "reason names the header: {r}"
    );

    let bad_version = request("OPTIONS", "m2", "", "").replace("SIP/2.0\r\n", "SIP/3.0\r\n");
    let r = exchange(&sock, server.udp, bad_version.as_bytes()).expect("answer");
    assert_eq!(status(&r), 505, "{r}");

    let r = exchange(&sock, server.udp, request("FROB", "m3", "", "").as_bytes()).expect("answer");
    assert_eq!(status(&r), 501, "{r}");
    assert!(r.contains("\r\nAllow: "), "501 lists what we allow: {r}");

    let hops = request("INVITE", "m4", "", "").replace("Max-Forwards: 70", "Max-Forwards: 0");
    let r = exchange(&sock, server.udp, hops.as_bytes()).expect("answer");
    assert_eq!(status(&r), 483, "{r}");

    let short_body = request("OPTIONS", "m5", "Content-Length: 500\r\n", "");
    let r = exchange(&sock, server.udp, short_body.as_bytes()).expect("answer");
    assert_eq!(status(&r), 400, "{r}");

    let mismatch = request("OPTIONS", "m6", "", "").replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
    let r = exchange(&sock, server.udp, mismatch.as_bytes()).expect("answer");
    assert_eq!(status(&r), 400, "{r}");

    // Junk gets no answer at all (RFC 3261 §18.1.2 / §8.2: nothing to answer to).
    sock.set_read_timeout(Some(Duration::from_millis(500)))
        .expect("timeout");
    assert!(exchange(&sock, server.udp, b"\x00\xff\x13garbage\r\n\r\n").is_none());
    assert!(exchange(&sock, server.udp, b"SIP/2.0 200 OK\r\nbroken\r\n\r\n").is_none());

    // …and the server is still there.
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    let r = exchange(
        &sock,
        server.udp,
        request("OPTIONS", "m7", "", "").as_bytes(),
    )
    .expect("answer");
    assert_eq!(status(&r), 200, "{r}");

    let (code, metrics) = server.http_get("/metrics");
    assert_eq!(code, 200);
    assert!(
        metrics
            .lines()
            .any(|l| l.starts_with("softacd_sip_requests_total") && l.contains("OPTIONS")),
        "OPTIONS counted:\n{metrics}"
    );
    assert!(metrics.contains("softacd_sip_responses_total"), "{metrics}");
}

#[test]
fn a_broken_tcp_stream_is_closed_without_hurting_other_connections() {
    let server = TestServer::start();
    let mut bad = TcpStream::connect(server.tcp).expect("connect");
    bad.set_read_timeout(Some(WAIT)).expect("timeout");
    // RFC 3261 §18.3: Content-Length is mandatory on streams.
    let no_length = request("OPTIONS", "t1", "", "").replace("Content-Length: 0\r\n", "");
    bad.write_all(no_length.as_bytes()).expect("write");
    let mut buf = [0u8; 1024];
    assert_eq!(
        bad.read(&mut buf).unwrap_or(0),
        0,
        "the server closes a stream it cannot frame"
    );

    let mut good = TcpStream::connect(server.tcp).expect("connect");
    good.set_read_timeout(Some(WAIT)).expect("timeout");
    let ok = request("OPTIONS", "t2", "", "").replace("SIP/2.0/UDP", "SIP/2.0/TCP");
    good.write_all(ok.as_bytes()).expect("write");
    let n = good.read(&mut buf).expect("answer");
    let text = String::from_utf8_lossy(&buf[..n]);
    assert!(text.starts_with("SIP/2.0 200"), "{text}");
}

#[test]
fn check_config_prints_file_line_and_fails() {
    let dir = TempDir::new("check-config");
    let path = dir.write(
        "bad.toml",
        "[sip]\nudp = [\"127.0.0.1:5060\"]\nlisten_everywhere = true\n",
    );
    let out = Command::new(env!("CARGO_BIN_EXE_softacd"))
        .arg("check-config")
        .arg(&path)
        .output()
        .expect("run check-config");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let expected = format!("{}:3:", path.display());
    assert!(err.contains(&expected), "expected {expected} in: {err}");
    assert!(err.contains("listen_everywhere"), "{err}");

    let good = dir.write("good.toml", "[http]\nlisten = \"127.0.0.1:8081\"\n");
    let out = Command::new(env!("CARGO_BIN_EXE_softacd"))
        .arg("check-config")
        .arg(&good)
        .output()
        .expect("run check-config");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn json_logs_carry_the_call_id_span() {
    let server = TestServer::start_with_config(|d| {
        TestServer::default_config(d)
            .replace("level = \"debug\"", "level = \"debug\"\nformat = \"json\"")
    });
    let sock = UdpSocket::bind("127.0.0.1:0").expect("bind");
    sock.set_read_timeout(Some(WAIT)).expect("timeout");
    let r = exchange(
        &sock,
        server.udp,
        request("OPTIONS", "j1", "", "").as_bytes(),
    )
    .expect("answer");
    assert_eq!(status(&r), 200);
    let found = common::poll_until(WAIT, Duration::from_millis(50), || {
        let log = server.stderr_tail(64 * 1024);
        log.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
            })
            .find(|v| v.to_string().contains("j1@ingress-test"))
    });
    let line = found.expect("a JSON log line with the Call-ID span");
    assert!(
        line.get("level").is_some() && line.get("fields").is_some(),
        "{line}"
    );
}
