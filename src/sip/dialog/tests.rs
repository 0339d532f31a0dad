//! Tests of the dialog rules (RFC 3261 §12, §13.2.2.4): tags, route set
//! order, CSeq, remote target, in-dialog request and ACK construction,
//! matching.

use super::*;
use crate::sip::uac::IdGen;
use crate::sip::{parse_message, response_to, Message, TransportKind};

fn peer() -> Peer {
    Peer::udp("198.51.100.7:5060".parse().expect("addr"))
}

fn local() -> LocalAddr {
    LocalAddr {
        transport: TransportKind::Udp,
        host: "192.0.2.1".into(),
        port: 5060,
    }
}

fn parse_req(raw: &str) -> Request {
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("fixture: {other:?}"),
    }
}

fn parse_resp(raw: &str) -> Response {
    match parse_message(raw.as_bytes()) {
        Ok(Message::Response(r)) => r,
        other => panic!("fixture: {other:?}"),
    }
}

/// An INVITE received through two record-routing proxies.
fn their_invite() -> Request {
    parse_req(
        "INVITE sip:ivr@ivr.local SIP/2.0\r\n\
         Via: SIP/2.0/UDP p2.example;branch=z9hG4bKp2\r\n\
         Via: SIP/2.0/UDP caller.example;branch=z9hG4bKc\r\n\
         Record-Route: <sip:p2.example;lr>\r\n\
         Record-Route: <sip:p1.example;lr>\r\n\
         From: \"Caller\" <sip:alice@caller.example>;tag=alice1\r\n\
         To: <sip:ivr@ivr.local>\r\n\
         Call-ID: call-1\r\n\
         CSeq: 10 INVITE\r\n\
         Contact: <sip:alice@10.0.0.5:5062>\r\n\r\n",
    )
}

fn uas_dialog() -> Dialog {
    let req = their_invite();
    let resp = response_to(&req, 200, Some("ivr1"));
    Dialog::uas(&req, &resp, peer()).expect("uas dialog")
}

/// Our INVITE and the 200 that came back through p1 then p2.
fn our_invite_and_200() -> (Request, Response) {
    let req = parse_req(
        "INVITE sip:bob@agent.example SIP/2.0\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKus\r\n\
         From: <sip:acd@acd.local>;tag=acd1\r\n\
         To: <sip:bob@agent.example>\r\n\
         Call-ID: call-2\r\n\
         CSeq: 5 INVITE\r\n\
         Contact: <sip:acd@192.0.2.1:5060>\r\n\r\n",
    );
    let resp = parse_resp(
        "SIP/2.0 200 OK\r\n\
         Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKus\r\n\
         Record-Route: <sip:p2.example;lr>, <sip:p1.example;lr>\r\n\
         From: <sip:acd@acd.local>;tag=acd1\r\n\
         To: <sip:bob@agent.example>;tag=bob1\r\n\
         Call-ID: call-2\r\n\
         CSeq: 5 INVITE\r\n\
         Contact: <sip:bob@10.0.0.8:5070>\r\n\r\n",
    );
    (req, resp)
}

fn uac_dialog() -> Dialog {
    let (req, resp) = our_invite_and_200();
    Dialog::uac(&req, &resp, peer()).expect("uac dialog")
}

fn route_hosts(req: &Request) -> Vec<String> {
    req.headers
        .get_all("Route")
        .map(|v| parse::parse_name_addr(v).expect("route").uri.host)
        .collect()
}

#[test]
fn uas_dialog_takes_tags_route_set_in_order_target_and_cseq() {
    let d = uas_dialog();
    assert_eq!(
        d.id,
        DialogId {
            call_id: "call-1".into(),
            local_tag: "ivr1".into(),
            remote_tag: "alice1".into(),
        }
    );
    let hosts: Vec<_> = d.route_set.iter().map(|r| r.uri.host.as_str()).collect();
    assert_eq!(hosts, ["p2.example", "p1.example"]);
    assert_eq!(d.remote_target.host, "10.0.0.5");
    assert_eq!(d.remote_cseq, Some(10));
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.local_uri.tag(), Some("ivr1"));
    assert_eq!(d.remote_uri.tag(), Some("alice1"));
}

#[test]
fn uas_dialog_from_180_is_early_and_confirm_makes_it_confirmed() {
    let req = their_invite();
    let ringing = response_to(&req, 180, Some("ivr1"));
    let mut d = Dialog::uas(&req, &ringing, peer()).expect("early");
    assert_eq!(d.state, DialogState::Early);
    d.confirm(&response_to(&req, 200, Some("ivr1")));
    assert_eq!(d.state, DialogState::Confirmed);
}

#[test]
fn uas_dialog_needs_to_tag_contact_and_a_dialog_creating_code() {
    let req = their_invite();
    let no_tag = response_to(&req, 200, None);
    assert_eq!(
        Dialog::uas(&req, &no_tag, peer()),
        Err(DialogError::Missing {
            place: "uas",
            what: "To tag"
        })
    );
    let mut no_contact = req.clone();
    no_contact.headers.remove("Contact");
    let ok = response_to(&no_contact, 200, Some("t"));
    assert!(matches!(
        Dialog::uas(&no_contact, &ok, peer()),
        Err(DialogError::Missing {
            what: "Contact",
            ..
        })
    ));
    for code in [100, 486] {
        let r = response_to(&req, code, Some("t"));
        assert!(matches!(
            Dialog::uas(&req, &r, peer()),
            Err(DialogError::NotDialogCreating { .. })
        ));
    }
}

#[test]
fn uac_dialog_reverses_the_route_set_and_keeps_our_cseq() {
    let d = uac_dialog();
    assert_eq!(
        d.id,
        DialogId {
            call_id: "call-2".into(),
            local_tag: "acd1".into(),
            remote_tag: "bob1".into(),
        }
    );
    let hosts: Vec<_> = d.route_set.iter().map(|r| r.uri.host.as_str()).collect();
    assert_eq!(hosts, ["p1.example", "p2.example"]);
    assert_eq!(d.remote_target.host, "10.0.0.8");
    assert_eq!((d.local_cseq, d.remote_cseq), (5, None));
}

#[test]
fn uac_dialog_needs_their_to_tag_and_a_2xx_contact() {
    let (req, mut resp) = our_invite_and_200();
    resp.headers.remove("Contact");
    assert!(matches!(
        Dialog::uac(&req, &resp, peer()),
        Err(DialogError::Missing {
            what: "Contact",
            ..
        })
    ));
    resp.code = 180;
    let early = Dialog::uac(&req, &resp, peer()).expect("early without contact");
    assert_eq!(early.remote_target, req.uri);
    resp.headers.set("To", "<sip:bob@agent.example>");
    assert!(matches!(
        Dialog::uac(&req, &resp, peer()),
        Err(DialogError::Missing { what: "To tag", .. })
    ));
}

#[test]
fn too_many_record_routes_are_refused() {
    let mut req = their_invite();
    for i in 0..MAX_ROUTE_SET {
        req.headers.push("Record-Route", format!("<sip:p{i}.x;lr>"));
    }
    let resp = response_to(&req, 200, Some("t"));
    assert_eq!(
        Dialog::uas(&req, &resp, peer()),
        Err(DialogError::TooManyRoutes { place: "uas" })
    );
}

#[test]
fn ids_of_incoming_requests_and_responses_match_the_dialog() {
    let d = uas_dialog();
    let bye = parse_req(
        "BYE sip:ivr@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP c;branch=z9hG4bKb\r\n\
         From: <sip:alice@caller.example>;tag=alice1\r\nTo: <sip:ivr@ivr.local>;tag=ivr1\r\n\
         Call-ID: call-1\r\nCSeq: 11 BYE\r\n\r\n",
    );
    assert_eq!(Dialog::id_of_incoming(&bye), Some(d.id.clone()));
    assert_eq!(Dialog::id_of_incoming(&their_invite()), None);

    let u = uac_dialog();
    let (req, resp) = our_invite_and_200();
    assert_eq!(Dialog::id_of_response(&resp), Some(u.id));
    let trying = response_to(&req, 100, Some("x"));
    assert_eq!(Dialog::id_of_response(&trying), None);
}

#[test]
fn in_dialog_request_uses_target_routes_and_increments_cseq() {
    let mut d = uac_dialog();
    let mut ids = IdGen::new(7);
    let bye = d.request(Method::Bye, &local(), &mut ids);
    assert_eq!(bye.uri.host, "10.0.0.8");
    assert_eq!(route_hosts(&bye), ["p1.example", "p2.example"]);
    let cseq = bye.cseq().expect("cseq");
    assert_eq!((cseq.seq, cseq.method), (6, Method::Bye));
    assert_eq!(bye.from_hdr().expect("from").tag(), Some("acd1"));
    assert_eq!(bye.to_hdr().expect("to").tag(), Some("bob1"));
    assert_eq!(bye.call_id(), Some("call-2"));
    assert!(!bye.headers.has("Contact"));
    let reinvite = d.request(Method::Invite, &local(), &mut ids);
    assert_eq!(reinvite.cseq().expect("cseq").seq, 7);
    assert_eq!(reinvite.contacts().expect("contact").len(), 1);
    assert_ne!(
        bye.top_via().expect("via").branch(),
        reinvite.top_via().expect("via").branch()
    );
}

#[test]
fn strict_router_first_goes_in_the_request_uri() {
    let mut d = uac_dialog();
    d.route_set = vec![NameAddr::new(Uri::sip(None, "strict.example", None))];
    let bye = d.request(Method::Bye, &local(), &mut IdGen::new(1));
    assert_eq!(bye.uri.host, "strict.example");
    assert_eq!(route_hosts(&bye), ["10.0.0.8"]);
}

#[test]
fn ack_for_2xx_reuses_the_invite_cseq_with_a_new_branch_and_optional_sdp() {
    let (req, _) = our_invite_and_200();
    let d = uac_dialog();
    let mut ids = IdGen::new(2);
    let ack = d.ack_for_2xx(5, &local(), &mut ids, Some(b"v=0\r\n".to_vec()));
    let cseq = ack.cseq().expect("cseq");
    assert_eq!((cseq.seq, cseq.method), (5, Method::Ack));
    assert_eq!(ack.method, Method::Ack);
    assert_ne!(
        ack.top_via().expect("via").branch(),
        req.top_via().expect("via").branch()
    );
    assert_eq!(ack.uri.host, "10.0.0.8");
    assert_eq!(route_hosts(&ack), ["p1.example", "p2.example"]);
    assert_eq!(ack.headers.get("Content-Type"), Some("application/sdp"));
    assert_eq!(ack.body, b"v=0\r\n");
    assert_eq!(d.local_cseq, 5, "ACK does not consume a CSeq");
    let plain = d.ack_for_2xx(5, &local(), &mut ids, None);
    assert!(plain.body.is_empty() && !plain.headers.has("Content-Type"));
}

fn in_dialog(method: &str, cseq: u32, contact: Option<&str>) -> Request {
    let contact = contact
        .map(|c| format!("Contact: <{c}>\r\n"))
        .unwrap_or_default();
    parse_req(&format!(
        "{method} sip:ivr@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP c;branch=z9hG4bK{cseq}{method}\r\n\
         From: <sip:alice@caller.example>;tag=alice1\r\nTo: <sip:ivr@ivr.local>;tag=ivr1\r\n\
         Call-ID: call-1\r\nCSeq: {cseq} {method}\r\n{contact}\r\n"
    ))
}

#[test]
fn incoming_cseq_must_rise_and_lower_is_a_500() {
    let mut d = uas_dialog();
    assert_eq!(d.check_incoming(&in_dialog("ACK", 10, None)), Ok(()));
    let err = d.check_incoming(&in_dialog("INFO", 10, None));
    assert_eq!(err, Err(DialogError::CSeqOutOfOrder { got: 10, last: 10 }));
    assert_eq!(d.check_incoming(&in_dialog("INFO", 12, None)), Ok(()));
    assert_eq!(d.remote_cseq, Some(12));
    let low = d.check_incoming(&in_dialog("BYE", 11, None));
    assert_eq!(low.as_ref().map_err(DialogError::sip_status), Err(500));
}

#[test]
fn reinvite_with_contact_refreshes_the_remote_target() {
    let mut d = uas_dialog();
    d.check_incoming(&in_dialog("INFO", 11, Some("sip:alice@10.9.9.9")))
        .expect("info");
    assert_eq!(
        d.remote_target.host, "10.0.0.5",
        "INFO is no target refresh"
    );
    d.check_incoming(&in_dialog("INVITE", 12, Some("sip:alice@10.9.9.9")))
        .expect("re-invite");
    assert_eq!(d.remote_target.host, "10.9.9.9");
}

#[test]
fn request_of_another_dialog_is_a_481() {
    let mut d = uas_dialog();
    let mut other = in_dialog("BYE", 11, None);
    other.headers.set("Call-ID", "call-9");
    let err = d.check_incoming(&other);
    assert_eq!(err.as_ref().map_err(DialogError::sip_status), Err(481));
    assert_eq!(d.remote_cseq, Some(10), "refused request changes nothing");
}

#[test]
fn confirm_updates_target_and_a_failure_ends_an_early_dialog() {
    let (req, mut resp) = our_invite_and_200();
    resp.code = 183;
    let mut d = Dialog::uac(&req, &resp, peer()).expect("early");
    let mut ok = resp.clone();
    ok.code = 200;
    ok.headers.set("Contact", "<sip:bob@10.0.0.99>");
    d.confirm(&ok);
    assert_eq!(d.state, DialogState::Confirmed);
    assert_eq!(d.remote_target.host, "10.0.0.99");

    let mut early = Dialog::uac(&req, &resp, peer()).expect("early");
    let mut busy = resp.clone();
    busy.code = 486;
    early.confirm(&busy);
    assert_eq!(early.state, DialogState::Terminated);
}
