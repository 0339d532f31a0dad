use super::*;
use crate::sip::parse::parse_message;
use crate::sip::Message;

fn invite(extra: &str, from: &str) -> Request {
    let text = format!(
        "INVITE sip:100@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK1\r\n\
         Max-Forwards: 70\r\n\
         From: {from};tag=a1\r\n\
         To: <sip:100@127.0.0.1>\r\n\
         Call-ID: c1@127.0.0.1\r\n\
         CSeq: 1 INVITE\r\n\
         Contact: <sip:5550001@127.0.0.1:5062>\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n"
    );
    match parse_message(text.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("test INVITE does not parse: {other:?}"),
    }
}

/// The SoftACD's INVITE to the IVR carrying `headers`.
fn ivr_leg(headers: &[(String, String)]) -> Request {
    let mut req = invite("", "<sip:5550001@softacd.local>");
    req.headers
        .0
        .retain(|(n, _)| !n.to_ascii_lowercase().starts_with("x-"));
    for (n, v) in headers {
        req.headers.push(n.clone(), v.clone());
    }
    req
}

#[test]
fn caller_dnis_and_x_headers_travel_to_the_ivr_session() {
    let caller = invite(
        "X-Customer-Tier: gold\r\nX-Account: 42\r\nSubject: hi\r\n",
        "\"Ada L\" <sip:5550001@127.0.0.1>",
    );
    let leg = for_ivr_leg(&caller);
    let info = SessionInfo::from_invite(&ivr_leg(&leg));
    assert_eq!(info.caller, "5550001");
    assert_eq!(info.caller_name.as_deref(), Some("Ada L"));
    assert_eq!(info.dnis, "100");
    assert_eq!(
        info.headers,
        [
            ("X-Customer-Tier".to_owned(), "gold".to_owned()),
            ("X-Account".to_owned(), "42".to_owned())
        ]
    );
    assert_eq!(info.header("x-customer-tier"), Some("gold"));
    assert_eq!(info.header("Subject"), None, "only X-* headers pass");
}

#[test]
fn a_callers_own_x_softacd_headers_are_never_copied() {
    let caller = invite(
        "X-SoftACD-Script: other\r\nX-SoftACD-Contact: 9\r\nx-softacd-dnis: 999\r\n",
        "<sip:5550001@127.0.0.1>",
    );
    let leg = for_ivr_leg(&caller);
    assert!(
        leg.iter().all(|(n, _)| n == HDR_CALLER || n == HDR_DNIS),
        "{leg:?}"
    );
    let info = SessionInfo::from_invite(&ivr_leg(&leg));
    assert_eq!(info.dnis, "100");
    assert!(info.headers.is_empty(), "{:?}", info.headers);
}

#[test]
fn at_most_16_headers_of_at_most_256_bytes_pass() {
    let mut extra = format!("X-Big: {}\r\n", "v".repeat(300));
    for i in 0..20 {
        extra.push_str(&format!("X-H{i}: {i}\r\n"));
    }
    let caller = invite(&extra, "<sip:5550001@127.0.0.1>");
    let info = SessionInfo::from_invite(&ivr_leg(&for_ivr_leg(&caller)));
    assert_eq!(info.headers.len(), MAX_HEADERS);
    assert_eq!(info.header("X-Big"), None, "too large: left out, not cut");
    assert_eq!(info.headers[0], ("X-H0".to_owned(), "0".to_owned()));
    assert_eq!(info.header("X-H15"), Some("15"));
    assert_eq!(info.header("X-H16"), None);
}

#[test]
fn without_our_headers_the_from_user_is_the_caller() {
    let req = invite("", "<sip:5550007@127.0.0.1>");
    let info = SessionInfo::from_invite(&req);
    assert_eq!(info.caller, "5550007");
    assert_eq!(info.dnis, "");
    assert_eq!(info.caller_name, None);
}

#[test]
fn long_fields_are_cut_on_a_character_boundary() {
    let s = "é".repeat(100);
    let cut = bounded(&s);
    assert!(cut.len() <= MAX_FIELD_BYTES && s.starts_with(&cut));
}
