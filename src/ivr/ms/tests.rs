//! Drives the media server with SIP messages and injected time and checks
//! what it emits (call-flow.md: the IVR leg). The script session is a small
//! test double that records its events.

use super::*;
use crate::media::Codec;
use crate::sip::transaction::TimerConfig;
use crate::sip::uac::LocalAddr;
use crate::sip::{parse_message, HeaderView, Response, TransportKind};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

type Log = Rc<RefCell<Vec<(String, u64, AppEvent)>>>;

/// Plays "welcome" on Start, asks for an agent on 0, hangs up on 9,
/// re-prompts on Timeout; wants a Timeout 5 s after Start.
struct Double {
    script: String,
    contact: u64,
    log: Log,
    deadline: Option<Instant>,
}

impl CallSession for Double {
    fn handle(&mut self, now: Instant, ev: AppEvent) -> Vec<AppCommand> {
        self.log
            .borrow_mut()
            .push((self.script.clone(), self.contact, ev.clone()));
        match ev {
            AppEvent::Start => {
                self.deadline = Some(now + Duration::from_secs(5));
                vec![AppCommand::Play {
                    prompts: vec!["welcome".into()],
                    interruptible: true,
                }]
            }
            AppEvent::Digit('0') => vec![
                AppCommand::StopPlayback,
                AppCommand::RequestAgent {
                    queue: "sales".into(),
                    skills: vec!["en".into()],
                    priority: 2,
                },
            ],
            AppEvent::Digit('9') => vec![AppCommand::Hangup {
                cause: "done".into(),
            }],
            AppEvent::NoAgents => vec![AppCommand::PlayHold {
                music: "moh".into(),
                announce: Some("busy".into()),
            }],
            AppEvent::Timeout => {
                self.deadline = None;
                vec![AppCommand::Play {
                    prompts: vec!["again".into()],
                    interruptible: false,
                }]
            }
            _ => Vec::new(),
        }
    }

    fn poll_timeout(&self) -> Option<Instant> {
        self.deadline
    }
}

struct Factory(Log);

impl SessionFactory for Factory {
    type Session = Double;
    fn create(&mut self, script: &str, contact: u64) -> Option<Double> {
        ["main", "sales"].contains(&script).then(|| Double {
            script: script.into(),
            contact,
            log: self.0.clone(),
            deadline: None,
        })
    }
}

const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n";

const RTP: &str = "192.0.2.10:30000";

struct Rig {
    ms: MediaServer<Factory>,
    log: Log,
    now: Instant,
    peer: Peer,
}

fn rig_with(max_calls: usize, transport: TransportKind) -> Rig {
    let log: Log = Rc::default();
    let cfg = MsConfig {
        local: LocalAddr {
            transport,
            host: "ivr.local".into(),
            port: 5070,
        },
        user: "ivr".into(),
        max_calls,
        max_transactions: 64,
        timers: TimerConfig::default(),
        info_dtmf: true,
    };
    Rig {
        ms: MediaServer::new(cfg, Factory(log.clone()), 42),
        log,
        now: Instant::now(),
        peer: Peer {
            transport,
            addr: "192.0.2.1:5060".parse().expect("addr"),
            conn: None,
        },
    }
}

fn rig() -> Rig {
    rig_with(4, TransportKind::Tcp)
}

fn request(raw: &str) -> Request {
    match parse_message(raw.as_bytes()) {
        Ok(Message::Request(r)) => r,
        other => panic!("fixture: {other:?}"),
    }
}

/// An INVITE from the SoftACD; `extra` lines end in CRLF.
fn invite(call_id: &str, extra: &str, sdp: Option<&str>) -> Request {
    let body = sdp.unwrap_or("");
    let ct = if sdp.is_some() {
        "Content-Type: application/sdp\r\n"
    } else {
        ""
    };
    request(&format!(
        "INVITE sip:ivr@ivr.local SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{call_id}\r\n\
         From: <sip:acd@acd.local>;tag=acd-{call_id}\r\nTo: <sip:ivr@ivr.local>\r\nCall-ID: {call_id}\r\n\
         CSeq: 1 INVITE\r\nContact: <sip:acd@192.0.2.1:5060;transport=tcp>\r\nMax-Forwards: 70\r\n\
         {extra}{ct}Content-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

/// An in-dialog request from the SoftACD, built from our 200.
fn in_dialog(method: &str, ok: &Response, cseq: u32, body: Option<&str>) -> Request {
    let to = ok.headers.get("To").expect("To");
    let call_id = ok.call_id().expect("Call-ID");
    let body = body.unwrap_or("");
    let branch = if method == "ACK" {
        format!("ack{cseq}")
    } else {
        format!("{method}{cseq}")
    };
    request(&format!(
        "{method} sip:ivr@ivr.local:5070 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bK{branch}{call_id}\r\n\
         From: <sip:acd@acd.local>;tag=acd-{call_id}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
         Contact: <sip:acd@192.0.2.1:5060;transport=tcp>\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

impl Rig {
    fn send(&mut self, req: Request) -> Vec<MsOutput> {
        self.ms
            .handle_received(self.now, Message::Request(req), self.peer);
        self.drain()
    }

    fn drain(&mut self) -> Vec<MsOutput> {
        std::iter::from_fn(|| self.ms.poll_output()).collect()
    }

    /// INVITE, stream opened: the call, our 200 and every output so far.
    fn answered(&mut self, call_id: &str, sdp: Option<&str>) -> (CallRef, Response, Vec<MsOutput>) {
        let mut outs = self.send(invite(call_id, "X-SoftACD-Contact: 77\r\n", sdp));
        let call = outs
            .iter()
            .find_map(|o| match o {
                MsOutput::OpenStream { call, .. } => Some(*call),
                _ => None,
            })
            .expect("OpenStream");
        self.ms
            .stream_opened(self.now, call, RTP.parse().expect("rtp"));
        outs.extend(self.drain());
        let ok = responses(&outs)
            .into_iter()
            .find(|r| r.code == 200)
            .expect("200");
        (call, ok, outs)
    }

    /// Answered and ACKed (early offer): the running call.
    fn running(&mut self, call_id: &str) -> (CallRef, Response, Vec<MsOutput>) {
        let (call, ok, _) = self.answered(call_id, Some(OFFER));
        let outs = self.send(in_dialog("ACK", &ok, 1, None));
        (call, ok, outs)
    }

    fn events(&self) -> Vec<AppEvent> {
        self.log
            .borrow()
            .iter()
            .map(|(_, _, e)| e.clone())
            .collect()
    }
}

fn transmitted(outs: &[MsOutput]) -> Vec<Message> {
    outs.iter()
        .filter_map(|o| match o {
            MsOutput::Transmit { msg, .. } => Some(msg.clone()),
            _ => None,
        })
        .collect()
}

fn responses(outs: &[MsOutput]) -> Vec<Response> {
    transmitted(outs)
        .into_iter()
        .filter_map(|m| match m {
            Message::Response(r) => Some(r),
            Message::Request(_) => None,
        })
        .collect()
}

fn codes(outs: &[MsOutput]) -> Vec<u16> {
    responses(outs).iter().map(|r| r.code).collect()
}

fn requests(outs: &[MsOutput]) -> Vec<Request> {
    transmitted(outs)
        .into_iter()
        .filter_map(|m| match m {
            Message::Request(r) => Some(r),
            Message::Response(_) => None,
        })
        .collect()
}

fn media(outs: &[MsOutput]) -> Vec<MsOutput> {
    outs.iter()
        .filter(|o| !matches!(o, MsOutput::Transmit { .. }))
        .cloned()
        .collect()
}

#[test]
fn invite_gets_100_open_stream_then_180_and_200_with_sdp_answer() {
    let mut r = rig();
    let outs = r.send(invite("c1", "X-SoftACD-Contact: 77\r\n", Some(OFFER)));
    assert_eq!(codes(&outs), [100]);
    assert_eq!(
        media(&outs),
        [MsOutput::OpenStream {
            call: CallRef(1),
            contact: 77,
            rtcp_mux: false
        }]
    );
    r.ms.stream_opened(r.now, CallRef(1), RTP.parse().expect("rtp"));
    let outs = r.drain();
    assert_eq!(codes(&outs), [180, 200]);
    let resps = responses(&outs);
    let (ringing, ok) = (&resps[0], &resps[1]);
    let tag = ok.to_hdr().expect("to").tag().map(str::to_string);
    assert!(tag.is_some());
    assert_eq!(ringing.to_hdr().expect("to").tag().map(str::to_string), tag);
    assert_eq!(ok.contacts().expect("contact").len(), 1);
    assert_eq!(ok.headers.get("Content-Type"), Some("application/sdp"));
    let answer = crate::media::sdp::parse_offer(&ok.body).expect("sdp answer");
    assert_eq!(answer.connection.to_string(), "192.0.2.10");
    assert_eq!(answer.audio_port, 30000);
    assert_eq!(
        answer.payload_types,
        [8, 101],
        "PCMA first as offered, plus DTMF"
    );
    assert_eq!(r.ms.calls(), 1);
}

#[test]
fn ack_configures_the_stream_and_the_session_plays_welcome() {
    let mut r = rig();
    let (call, _, outs) = r.running("c2");
    assert_eq!(
        media(&outs),
        [
            MsOutput::ConfigureStream {
                call,
                remote: "10.0.0.5:40000".parse().expect("addr"),
                codec: Codec::Pcma,
                payload_type: 8,
                dtmf_pt: Some(101),
                ptime_ms: 20,
            },
            MsOutput::Play {
                call,
                prompts: vec!["welcome".into()],
                interruptible: true
            },
        ]
    );
    assert_eq!(r.log.borrow()[0], ("main".into(), 77, AppEvent::Start));
}

#[test]
fn no_media_and_no_session_before_the_ack() {
    let mut r = rig();
    let (call, _, outs) = r.answered("c3", Some(OFFER));
    assert!(r.events().is_empty());
    assert!(!outs
        .iter()
        .any(|o| matches!(o, MsOutput::ConfigureStream { .. })));
    r.ms.media_event(r.now, MediaEvent::Digit { call, key: '0' });
    assert!(r.drain().is_empty() && r.events().is_empty());
}

#[test]
fn digits_reach_the_session_and_request_agent_goes_to_the_cti() {
    let mut r = rig();
    let (call, _, _) = r.running("c4");
    r.ms.media_event(r.now, MediaEvent::Digit { call, key: '0' });
    assert_eq!(
        r.drain(),
        [
            MsOutput::StopPlayback { call },
            MsOutput::RequestAgent {
                contact: 77,
                queue: "sales".into(),
                skills: vec!["en".into()],
                priority: 2
            }
        ]
    );
    r.ms.media_event(r.now, MediaEvent::PlaybackDone { call });
    r.ms.cti_event(r.now, CtiToIvr::NoAgents { contact: 77 });
    assert_eq!(
        r.drain(),
        [MsOutput::PlayHold {
            call,
            music: "moh".into(),
            announce: Some("busy".into())
        }]
    );
    r.ms.cti_event(r.now, CtiToIvr::AgentFound { contact: 999 });
    assert!(r.drain().is_empty(), "unknown contact is ignored");
    assert_eq!(
        r.events(),
        [
            AppEvent::Start,
            AppEvent::Digit('0'),
            AppEvent::PromptDone,
            AppEvent::NoAgents
        ]
    );
}

#[test]
fn session_hangup_sends_bye_in_the_dialog_and_closes_the_stream() {
    let mut r = rig();
    let (call, ok, _) = r.running("c5");
    r.ms.media_event(r.now, MediaEvent::Digit { call, key: '9' });
    let outs = r.drain();
    let byes = requests(&outs);
    assert_eq!(byes.len(), 1);
    let bye = &byes[0];
    assert_eq!(bye.method, Method::Bye);
    assert_eq!(bye.call_id(), Some("c5"));
    assert_eq!(bye.uri.host, "192.0.2.1", "sent to the SoftACD's Contact");
    assert_eq!(
        bye.from_hdr().expect("from").tag(),
        ok.to_hdr().expect("to").tag()
    );
    assert_eq!(bye.to_hdr().expect("to").tag(), Some("acd-c5"));
    assert_eq!(media(&outs), [MsOutput::CloseStream { call }]);
    assert_eq!(r.ms.calls(), 0);
}

#[test]
fn bye_from_the_softacd_gets_200_the_session_hears_hangup_and_the_stream_closes() {
    let mut r = rig();
    let (call, ok, _) = r.running("c6");
    let outs = r.send(in_dialog("BYE", &ok, 2, None));
    assert_eq!(codes(&outs), [200]);
    assert_eq!(media(&outs), [MsOutput::CloseStream { call }]);
    assert_eq!(r.events().last(), Some(&AppEvent::Hangup));
    assert_eq!(r.ms.calls(), 0);
    let again = r.send(in_dialog("BYE", &ok, 3, None));
    assert_eq!(codes(&again), [481]);
}

#[test]
fn cancel_before_the_200_answers_200_and_487_and_closes_the_stream() {
    let mut r = rig();
    let inv = invite("c7", "X-SoftACD-Contact: 77\r\n", Some(OFFER));
    r.send(inv.clone());
    let outs = r.send(crate::sip::uac::cancel_for(&inv));
    let resps = responses(&outs);
    let got: Vec<(u16, Method)> = resps
        .iter()
        .map(|x| (x.code, x.cseq().expect("cseq").method))
        .collect();
    assert_eq!(got, [(200, Method::Cancel), (487, Method::Invite)]);
    assert_eq!(media(&outs), [MsOutput::CloseStream { call: CallRef(1) }]);
    r.ms.stream_opened(r.now, CallRef(1), RTP.parse().expect("rtp"));
    assert!(r.drain().is_empty(), "a late stream_opened is ignored");
}

#[test]
fn late_offer_puts_our_offer_in_the_200_and_reads_the_answer_from_the_ack() {
    let mut r = rig();
    let (call, ok, _) = r.answered("c8", None);
    let offer = crate::media::sdp::parse_offer(&ok.body).expect("our offer");
    // Every codec we support, in `[media] codecs` default order, then
    // telephone-event at 8000 and (for Opus) 48000 Hz.
    assert_eq!(offer.payload_types, [0, 8, 9, 111, 101, 102]);
    let answer = "v=0\r\no=- 2 1 IN IP4 10.0.0.6\r\ns=-\r\nc=IN IP4 10.0.0.6\r\nt=0 0\r\n\
                  m=audio 41000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n";
    let outs = r.send(in_dialog("ACK", &ok, 1, Some(answer)));
    assert_eq!(
        media(&outs)[0],
        MsOutput::ConfigureStream {
            call,
            remote: "10.0.0.6:41000".parse().expect("addr"),
            codec: Codec::Pcmu,
            payload_type: 0,
            dtmf_pt: None,
            ptime_ms: 20,
        }
    );
    assert_eq!(r.events(), [AppEvent::Start]);
}

#[test]
fn the_codec_list_limits_the_answer_and_the_late_offer() {
    let mut r = rig();
    r.ms.set_codecs(&[Codec::G722, Codec::Pcma]);
    let (_, ok, _) = r.answered("c9", None);
    let offer = crate::media::sdp::parse_offer(&ok.body).expect("our offer");
    assert_eq!(offer.payload_types, [9, 8, 101]);
}

#[test]
fn late_offer_ack_without_an_answer_ends_the_call_with_bye() {
    let mut r = rig();
    let (call, ok, _) = r.answered("c9", None);
    let outs = r.send(in_dialog("ACK", &ok, 1, None));
    assert_eq!(
        requests(&outs).first().map(|q| q.method.clone()),
        Some(Method::Bye)
    );
    assert_eq!(media(&outs), [MsOutput::CloseStream { call }]);
    assert!(r.events().is_empty());
}

#[test]
fn refused_invites_get_400_404_488_and_open_no_stream() {
    let cases = [
        ("", Some(OFFER), 400),
        ("X-SoftACD-Contact: seven\r\n", Some(OFFER), 400),
        (
            "X-SoftACD-Contact: 7\r\nX-SoftACD-Script: nope\r\n",
            Some(OFFER),
            404,
        ),
        ("X-SoftACD-Contact: 7\r\n", Some("junk"), 400),
    ];
    for (i, (extra, sdp, code)) in cases.into_iter().enumerate() {
        let mut r = rig();
        let outs = r.send(invite(&format!("r{i}"), extra, sdp));
        assert_eq!(codes(&outs), [code], "case {i}");
        assert!(media(&outs).is_empty(), "case {i}");
    }
    let g729 = OFFER
        .replace("8 0 101", "18")
        .replace("a=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\n", "");
    let mut r = rig();
    assert_eq!(
        codes(&r.send(invite("r9", "X-SoftACD-Contact: 7\r\n", Some(&g729)))),
        [488]
    );
}

#[test]
fn script_header_picks_the_script() {
    let mut r = rig();
    let mut outs = r.send(invite(
        "s1",
        "X-SoftACD-Contact: 5\r\nX-SoftACD-Script: sales\r\n",
        Some(OFFER),
    ));
    r.ms.stream_opened(r.now, CallRef(1), RTP.parse().expect("rtp"));
    outs.extend(r.drain());
    let ok = responses(&outs)
        .into_iter()
        .find(|x| x.code == 200)
        .expect("200");
    r.send(in_dialog("ACK", &ok, 1, None));
    assert_eq!(r.log.borrow()[0], ("sales".into(), 5, AppEvent::Start));
}

#[test]
fn max_calls_gives_503_with_retry_after() {
    let mut r = rig_with(1, TransportKind::Tcp);
    r.answered("m1", Some(OFFER));
    let outs = r.send(invite("m2", "X-SoftACD-Contact: 8\r\n", Some(OFFER)));
    let resps = responses(&outs);
    assert_eq!(resps.len(), 1);
    assert_eq!(resps[0].code, 503);
    assert!(resps[0].headers.has("Retry-After"));
    assert_eq!(r.ms.calls(), 1);
}

#[test]
fn reinvite_is_answered_with_the_same_sdp() {
    let mut r = rig();
    let (_, ok, _) = r.running("x1");
    let outs = r.send(in_dialog("INVITE", &ok, 2, Some(OFFER)));
    let resps = responses(&outs);
    let re_ok = resps.iter().find(|x| x.code == 200).expect("200");
    assert_eq!(re_ok.body, ok.body);
    assert_eq!(
        re_ok.to_hdr().expect("to").tag(),
        ok.to_hdr().expect("to").tag()
    );
    let stale = r.send(in_dialog("INVITE", &ok, 1, Some(OFFER)));
    assert_eq!(codes(&stale), [500], "CSeq below the last one");
}

#[test]
fn session_deadline_is_in_poll_timeout_and_fires_timeout() {
    let mut r = rig();
    let (call, _, _) = r.running("t1");
    let at = r.ms.poll_timeout().expect("deadline");
    assert_eq!(at, r.now + Duration::from_secs(5));
    r.ms.handle_timeout(at - Duration::from_millis(1));
    assert!(!r.drain().iter().any(|o| matches!(o, MsOutput::Play { .. })));
    r.ms.handle_timeout(at);
    assert!(r.drain().contains(&MsOutput::Play {
        call,
        prompts: vec!["again".into()],
        interruptible: false
    }));
    assert_eq!(r.events().last(), Some(&AppEvent::Timeout));
}

#[test]
fn udp_200_is_resent_until_acked_and_no_ack_ends_with_bye() {
    let mut r = rig_with(4, TransportKind::Udp);
    let (call, ok, _) = r.answered("u1", Some(OFFER));
    let t1 = TimerConfig::default().t1;
    r.ms.handle_timeout(r.now + t1);
    let resent = responses(&r.drain());
    assert!(resent.iter().any(|x| x.code == 200 && x.body == ok.body));
    let mut now = r.now + t1;
    let mut byes = Vec::new();
    while let Some(at) = r.ms.poll_timeout() {
        if at > r.now + Duration::from_secs(40) {
            break;
        }
        now = now.max(at);
        r.ms.handle_timeout(now);
        let outs = r.drain();
        byes.extend(
            requests(&outs)
                .into_iter()
                .filter(|q| q.method == Method::Bye),
        );
        if media(&outs).contains(&MsOutput::CloseStream { call }) {
            break;
        }
    }
    assert_eq!(byes.len(), 1, "BYE once the ACK wait (64*T1) is over");
    assert!(now >= r.now + t1 * 64);
    assert_eq!(r.ms.calls(), 0);
}

#[test]
fn udp_ack_stops_the_resends() {
    let mut r = rig_with(4, TransportKind::Udp);
    let (_, ok, _) = r.answered("u2", Some(OFFER));
    r.send(in_dialog("ACK", &ok, 1, None));
    let t1 = TimerConfig::default().t1;
    r.ms.handle_timeout(r.now + t1 * 4);
    assert!(codes(&r.drain()).is_empty());
}

#[test]
fn invite_without_a_contact_header_is_a_400() {
    let mut r = rig();
    let mut inv = invite("n1", "X-SoftACD-Contact: 7\r\n", Some(OFFER));
    inv.headers.remove("Contact");
    assert_eq!(codes(&r.send(inv)), [400]);
    assert_eq!(r.ms.calls(), 0);
}

#[test]
fn options_gets_200_with_allow_and_other_methods_405() {
    let mut r = rig();
    let (_, ok, _) = r.running("o1");
    let outs = r.send(in_dialog("OPTIONS", &ok, 2, None));
    let resps = responses(&outs);
    assert_eq!(resps.iter().map(|x| x.code).collect::<Vec<_>>(), [200]);
    assert_eq!(resps[0].headers.get("Allow"), Some(ALLOW));
    assert_eq!(codes(&r.send(in_dialog("REFER", &ok, 3, None))), [405]);
}

#[test]
fn reinvite_or_cancel_of_no_call_is_a_481() {
    let mut r = rig();
    let (_, mut ok, _) = r.running("z1");
    ok.headers.set("Call-ID", "other");
    assert_eq!(
        codes(&r.send(in_dialog("INVITE", &ok, 2, Some(OFFER)))),
        [481]
    );
    let stray = invite("z2", "X-SoftACD-Contact: 7\r\n", None);
    assert_eq!(codes(&r.send(crate::sip::uac::cancel_for(&stray))), [481]);
}

#[test]
fn cancel_after_the_200_does_not_end_the_call() {
    let mut r = rig();
    let inv = invite("k1", "X-SoftACD-Contact: 77\r\n", Some(OFFER));
    r.send(inv.clone());
    r.ms.stream_opened(r.now, CallRef(1), RTP.parse().expect("rtp"));
    r.drain();
    let outs = r.send(crate::sip::uac::cancel_for(&inv));
    assert_eq!(codes(&outs), [200]);
    assert!(media(&outs).is_empty());
    assert_eq!(r.ms.calls(), 1);
}

/// OFFER with `a=<dir>` on the audio line.
fn offer_with(dir: &str) -> String {
    format!("{OFFER}a={dir}\r\n")
}

fn sending_of(outs: &[MsOutput]) -> Vec<bool> {
    outs.iter()
        .filter_map(|o| match o {
            MsOutput::SetSending { sending, .. } => Some(*sending),
            _ => None,
        })
        .collect()
}

fn answer_of(outs: &[MsOutput]) -> crate::media::sdp::SdpOffer {
    let resps = responses(outs);
    let ok = resps.iter().find(|x| x.code == 200).expect("200");
    crate::media::sdp::parse_offer(&ok.body).expect("SDP in the 200")
}

#[test]
fn hold_reinvites_are_answered_with_the_matching_direction_and_stop_sending() {
    use crate::media::sdp::Direction;
    let mut r = rig();
    let (call, ok, _) = r.running("h1");
    let steps = [
        ("sendonly", Direction::RecvOnly, vec![false]),
        ("inactive", Direction::Inactive, vec![]),
        ("recvonly", Direction::SendOnly, vec![true]),
        ("inactive", Direction::Inactive, vec![false]),
        ("sendrecv", Direction::SendRecv, vec![true]),
    ];
    for (i, (offered, answered, sending)) in steps.into_iter().enumerate() {
        let cseq = 2 + i as u32;
        let outs = r.send(in_dialog("INVITE", &ok, cseq, Some(&offer_with(offered))));
        assert_eq!(answer_of(&outs).direction, answered, "offer {offered}");
        assert_eq!(sending_of(&outs), sending, "offer {offered}");
        assert!(
            !outs
                .iter()
                .any(|o| matches!(o, MsOutput::ConfigureStream { .. })),
            "same address and codec: no reconfiguration"
        );
        r.send(in_dialog("ACK", &ok, cseq, None));
    }
    assert_eq!(r.ms.calls(), 1, "call {call:?} is still up");
}

#[test]
fn a_changed_answer_bumps_the_origin_version_and_an_unchanged_one_repeats() {
    let mut r = rig();
    let (_, ok, _) = r.running("h2");
    let version = |body: &[u8]| -> String {
        let text = String::from_utf8_lossy(body).into_owned();
        let o = text
            .lines()
            .find(|l| l.starts_with("o="))
            .expect("o=")
            .to_owned();
        o.split_whitespace().nth(2).expect("version").to_owned()
    };
    let held = r.send(in_dialog("INVITE", &ok, 2, Some(&offer_with("sendonly"))));
    let held_ok = responses(&held)
        .into_iter()
        .find(|x| x.code == 200)
        .expect("200");
    assert_eq!(version(&ok.body), "1");
    assert_eq!(version(&held_ok.body), "2");
    r.send(in_dialog("ACK", &ok, 2, None));
    let again = r.send(in_dialog("INVITE", &ok, 3, Some(&offer_with("sendonly"))));
    let again_ok = responses(&again)
        .into_iter()
        .find(|x| x.code == 200)
        .expect("200");
    assert_eq!(again_ok.body, held_ok.body, "nothing changed: same SDP");
    assert!(sending_of(&again).is_empty());
}

#[test]
fn a_reinvite_offer_we_cannot_accept_is_488_and_changes_nothing() {
    let mut r = rig();
    let (_, ok, _) = r.running("h3");
    let g729 = "v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\n\
m=audio 40000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\na=sendonly\r\n";
    let outs = r.send(in_dialog("INVITE", &ok, 2, Some(g729)));
    assert_eq!(codes(&outs), [488]);
    assert!(sending_of(&outs).is_empty());
}

/// An INFO in the call's dialog with `content_type` and `body`.
fn info(ok: &Response, cseq: u32, content_type: &str, body: &str) -> Request {
    let to = ok.headers.get("To").expect("To");
    let call_id = ok.call_id().expect("Call-ID");
    request(&format!(
        "INFO sip:ivr@ivr.local:5070 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKinfo{cseq}{call_id}\r\n\
         From: <sip:acd@acd.local>;tag=acd-{call_id}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} INFO\r\n\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    ))
}

#[test]
fn info_dtmf_relay_and_dtmf_bodies_are_digits_of_the_session() {
    let mut r = rig();
    let (call, ok, _) = r.running("i1");
    let outs = r.send(info(
        &ok,
        2,
        "application/dtmf-relay",
        "Signal=0\r\nDuration=160\r\n",
    ));
    assert_eq!(codes(&outs), [200]);
    assert!(
        media(&outs).contains(&MsOutput::StopPlayback { call }),
        "the digit barges in on welcome: {outs:?}"
    );
    let outs = r.send(info(&ok, 3, "application/dtmf", "9"));
    assert_eq!(codes(&outs), [200]);
    let digits: Vec<_> = r
        .events()
        .into_iter()
        .filter(|e| matches!(e, AppEvent::Digit(_)))
        .collect();
    assert_eq!(digits, [AppEvent::Digit('0'), AppEvent::Digit('9')]);
}

#[test]
fn info_with_a_bad_body_is_400_another_type_415_and_no_dialog_481() {
    let mut r = rig();
    let (_, ok, _) = r.running("i2");
    let outs = r.send(info(&ok, 2, "application/dtmf-relay", "Signal=x"));
    assert_eq!(codes(&outs), [400]);
    let outs = r.send(info(&ok, 3, "application/json", "{\"key\":5}"));
    assert_eq!(codes(&outs), [415]);
    let accept = responses(&outs)[0]
        .headers
        .get("Accept")
        .map(str::to_string);
    assert_eq!(accept.as_deref(), Some(info::ACCEPT_INFO));
    let outs = r.send(info(&ok, 4, "application/dtmf", ""));
    assert_eq!(codes(&outs), [200], "an empty INFO is a keep-alive");
    assert!(!r.events().iter().any(|e| matches!(e, AppEvent::Digit(_))));

    let stranger = request(
        "INFO sip:ivr@ivr.local:5070 SIP/2.0\r\nVia: SIP/2.0/TCP 192.0.2.1:5060;branch=z9hG4bKnone\r\n\
         From: <sip:acd@acd.local>;tag=x\r\nTo: <sip:ivr@ivr.local>;tag=nobody\r\nCall-ID: none\r\n\
         CSeq: 1 INFO\r\nContent-Type: application/dtmf\r\nContent-Length: 1\r\n\r\n5",
    );
    assert_eq!(codes(&r.send(stranger)), [481]);
}

#[test]
fn info_dtmf_off_in_the_config_is_415() {
    let mut r = rig();
    r.ms.cfg.info_dtmf = false;
    let (_, ok, _) = r.running("i3");
    let outs = r.send(info(&ok, 2, "application/dtmf", "5"));
    assert_eq!(codes(&outs), [415]);
    assert!(!r.events().iter().any(|e| matches!(e, AppEvent::Digit(_))));
}
