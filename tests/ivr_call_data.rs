//! Issue 5, call data for the IVR: a caller dials service 100 with a display
//! name and two `X-*` headers (and a forged `X-SoftACD-Script`); the
//! SoftACD's INVITE to the embedded IVR carries the caller, the DNIS and the
//! caller's `X-*` headers, and the IVR's session starts with exactly those
//! (the IVR logs each session's call data at debug level, which the test
//! config turns on). Real `softacd run`, Rust caller UA on loopback.

mod common;
mod ua;

use std::time::Duration;

use common::{poll_until, TestServer};
use ua::config::flow_config;
use ua::Caller;

const STEP: Duration = Duration::from_secs(10);

#[test]
fn ivr_session_starts_with_caller_dnis_and_x_headers() {
    let server = TestServer::start_with_config(|d| flow_config(d, "relay"));
    let mut caller = Caller::new(server.udp, "5550009").expect("caller UA");
    caller.extra_headers = vec![
        ("X-Customer-Tier".into(), "gold".into()),
        ("X-Account".into(), "A-42".into()),
        ("X-SoftACD-Script".into(), "forged".into()),
    ];
    let offer = caller.offer();
    let ok = caller.invite("100", Some(offer), STEP).expect("INVITE 100");
    assert_eq!(
        ok.code, 200,
        "the forged script header must not change the flow"
    );
    let welcome = caller.recv_rtp(STEP, 10);
    assert!(welcome.count() >= 10, "welcome {}", welcome.count());
    let line = poll_until(STEP, Duration::from_millis(100), || {
        let log = server.stderr_tail(200_000);
        log.lines()
            .find(|l| l.contains("ivr: session starts") && l.contains("caller=5550009"))
            .map(str::to_owned)
    });
    let line = line.unwrap_or_else(|| {
        panic!(
            "the IVR logged no session for 5550009:\n{}",
            server.stderr_tail(4000)
        )
    });
    assert!(line.contains("dnis=100"), "{line}");
    assert!(line.contains("script=\"main\""), "{line}");
    assert!(
        line.contains(r#"headers=[("X-Customer-Tier", "gold"), ("X-Account", "A-42")]"#),
        "exactly the caller's X-* headers, ours left out: {line}"
    );
    caller.bye().expect("BYE");
}
