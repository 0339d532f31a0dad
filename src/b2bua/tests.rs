//! Scenario tests of the call model, each a stretch of MISSION.md steps
//! 1–10 driven against a real `cti::Cti`: the call's `Cti(..)` actions go
//! into the CTI and its outputs for the contact come back into the call.
//! Time is injected; nothing sleeps.

use super::*;
use crate::cti::{
    self, AgentId, AgentState, ClearCause, ContactId, CstaEvent, Cti, CtiConfig, Leg, Media,
    NoAgents, Output, QueueConfig, QueueName, Skill,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const CONTACT: ContactId = ContactId(42);

pub(super) fn sdp(ip: &str, port: u16, fmts: &str, video: bool) -> Vec<u8> {
    let mut s = format!(
        "v=0\r\no=x 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {fmts} 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    );
    if video {
        s.push_str(&format!(
            "m=video {} RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
            port + 2
        ));
    }
    s.into_bytes()
}

fn caller_sdp() -> Vec<u8> {
    sdp("10.0.0.1", 4000, "0 8", false)
}
fn ivr_sdp() -> Vec<u8> {
    sdp("127.0.0.1", 6000, "0", false)
}
fn agent_sdp(fmts: &str) -> Vec<u8> {
    sdp("10.0.0.50", 8000, fmts, false)
}
fn relay() -> RelayAddrs {
    RelayAddrs {
        a_side: "192.0.2.1:20000".parse().unwrap(),
        b_side: "192.0.2.2:20002".parse().unwrap(),
    }
}
fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn cti_config() -> CtiConfig {
    let mut cfg = CtiConfig {
        ring_timeout: Duration::from_secs(20),
        ..CtiConfig::default()
    };
    cfg.dnis_scripts.insert("8000".into(), "welcome".into());
    let sales = QueueConfig {
        max_size: 10,
        max_wait: Some(Duration::from_secs(60)),
        wrap_up: Duration::from_secs(5),
        no_agents: NoAgents::Wait,
    };
    let vip = QueueConfig {
        no_agents: NoAgents::Reject,
        ..sales.clone()
    };
    cfg.queues.insert(QueueName::from("sales"), sales);
    cfg.queues.insert(QueueName::from("vip"), vip);
    cfg
}

/// The CTI output's contact, for routing it to its call.
pub(super) fn output_contact(o: &Output) -> Option<ContactId> {
    match o {
        Output::RouteSelect { contact, .. }
        | Output::DivertCall { contact, .. }
        | Output::CancelDivert { contact, .. }
        | Output::Established { contact, .. }
        | Output::QueueFull { contact, .. }
        | Output::QueueTimeout { contact, .. }
        | Output::NoAgents { contact, .. } => Some(*contact),
        Output::AgentStateChanged { .. } | Output::Refused { .. } => None,
    }
}

struct World {
    now: Instant,
    cti: Cti,
    call: Call,
    /// Every action the call emitted, in order.
    log: Vec<CallAction>,
}

impl World {
    fn new(mode: MediaMode, caller: Option<Vec<u8>>, dnis: &str) -> (World, Vec<CallAction>) {
        let now = Instant::now();
        let mut cti = Cti::new(cti_config());
        for name in ["alice", "bob"] {
            let skills = [(Skill::from("sales"), 5)].into_iter().collect();
            let device = format!("sip:{name}@10.0.0.50");
            cti.handle(
                now,
                cti::Input::SignIn {
                    agent: AgentId::from(name),
                    device,
                    skills,
                },
            );
        }
        // bob is busy at first so alice gets the first offer.
        cti.handle(
            now,
            cti::Input::SetNotReady {
                agent: AgentId::from("bob"),
                reason: "x".into(),
            },
        );
        let setup = CallSetup {
            contact: CONTACT,
            caller: "sip:carol@example.com".into(),
            dnis: dnis.into(),
            sdp: caller,
            mode,
            relay: Some(relay()),
        };
        let (call, first) = Call::new(now, setup);
        let mut w = World {
            now,
            cti,
            call,
            log: Vec::new(),
        };
        let all = w.pump(first);
        (w, all)
    }

    /// Feeds one input; returns every action it caused, CTI rounds included.
    fn feed(&mut self, input: CallInput) -> Vec<CallAction> {
        let first = self.call.handle(self.now, input);
        self.pump(first)
    }

    fn pump(&mut self, first: Vec<CallAction>) -> Vec<CallAction> {
        let mut all = Vec::new();
        let mut todo: std::collections::VecDeque<CallAction> = first.into();
        while let Some(a) = todo.pop_front() {
            if let CallAction::Cti(input) = &a {
                let outs = self.cti.handle(self.now, input.clone());
                todo.extend(self.route(outs));
            }
            self.log.push(a.clone());
            all.push(a);
        }
        all
    }

    fn route(&mut self, outs: Vec<Output>) -> Vec<CallAction> {
        let mut back = Vec::new();
        for o in outs {
            if output_contact(&o) == Some(CONTACT) {
                back.extend(self.call.handle(self.now, CallInput::Cti(o)));
            }
        }
        back
    }

    fn advance(&mut self, secs: u64) -> Vec<CallAction> {
        self.now += Duration::from_secs(secs);
        let outs = self.cti.handle_timeout(self.now);
        let back = self.route(outs);
        self.pump(back)
    }

    fn agent_state(&self, name: &str) -> AgentState {
        self.cti.agent(&AgentId::from(name)).unwrap().state.clone()
    }

    fn cleared_count(&self) -> usize {
        self.log
            .iter()
            .filter(|a| matches!(a, CallAction::Event(CstaEvent::ConnectionCleared { .. })))
            .count()
    }

    /// Steps 1–4 up to the caller's ACK.
    fn in_ivr(&mut self) {
        self.feed(CallInput::Answered {
            leg: LegId::IVR,
            sdp: Some(ivr_sdp()),
        });
        self.feed(CallInput::CallerAck { sdp: None });
        assert_eq!(self.call.state(), CallState::InIvr);
    }

    fn request_agent(&mut self, queue: &str) -> Vec<CallAction> {
        self.feed(CallInput::IvrRequestsAgent {
            queue: queue.into(),
            skills: vec!["sales".into()],
            priority: 1,
        })
    }
}

fn has(actions: &[CallAction], want: &CallAction) -> bool {
    actions.contains(want)
}

fn invite_ivr_sdp(actions: &[CallAction]) -> Option<Option<Vec<u8>>> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteIvr { sdp, .. } => Some(sdp.clone()),
        _ => None,
    })
}

fn invite_agent(actions: &[CallAction]) -> Option<(LegId, String, Option<Vec<u8>>)> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteAgent {
            leg, agent, sdp, ..
        } => Some((*leg, agent.0.clone(), sdp.clone())),
        _ => None,
    })
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn steps_1_to_10_direct_mode() {
    // Steps 1–3: INVITE → CallDelivered (audio) + RouteRequest → RouteSelect → InviteIvr.
    let (mut w, first) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    assert!(has(
        &first,
        &CallAction::Event(CstaEvent::CallDelivered {
            contact: CONTACT,
            media: Media::Audio,
            leg: Leg::Caller
        })
    ));
    assert!(first.iter().any(
        |a| matches!(a, CallAction::Cti(cti::Input::RouteRequest { dnis, .. }) if dnis == "8000")
    ));
    assert!(has(
        &first,
        &CallAction::Cti(cti::Input::RouteEnd { contact: CONTACT })
    ));
    assert!(has(
        &first,
        &CallAction::InviteIvr {
            leg: LegId::IVR,
            script: "welcome".into(),
            sdp: Some(caller_sdp())
        }
    ));
    assert_eq!(w.call.state(), CallState::InIvr);
    // Step 4: 180 and 200 relayed, IVR ACKed.
    let ring = w.feed(CallInput::Provisional {
        leg: LegId::IVR,
        code: 180,
        sdp: None,
    });
    assert_eq!(
        ring,
        vec![CallAction::CallerProvisional {
            code: 180,
            sdp: None
        }]
    );
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &ok,
        &CallAction::Ack {
            leg: LegId::IVR,
            sdp: None
        }
    ));
    assert!(has(&ok, &CallAction::CallerAnswer { sdp: ivr_sdp() }));
    w.feed(CallInput::CallerAck { sdp: None });
    // Step 7–8: the IVR asks for an agent; alice is idle: DivertCall at once.
    let divert = w.request_agent("sales");
    assert!(has(
        &divert,
        &CallAction::Event(CstaEvent::CallDiverted { contact: CONTACT })
    ));
    assert!(has(&divert, &CallAction::Bye { leg: LegId::IVR }));
    let (leg, agent, offer) = invite_agent(&divert).expect("agent invited");
    assert_eq!(
        (leg, agent.as_str(), offer),
        (LegId::agent(1), "alice", Some(caller_sdp()))
    );
    assert_eq!(w.call.state(), CallState::Diverting);
    // Step 9: ringing, answered, ACKed, Established.
    let ringing = w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    assert!(has(
        &ringing,
        &CallAction::Cti(cti::Input::AgentRinging { contact: CONTACT })
    ));
    assert_eq!(
        w.agent_state("alice"),
        AgentState::Ringing { contact: CONTACT }
    );
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert!(has(&answered, &CallAction::Ack { leg, sdp: None }));
    assert!(has(
        &answered,
        &CallAction::Cti(cti::Input::AgentAnswered { contact: CONTACT })
    ));
    // Step 10: re-INVITE the caller with the agent's SDP.
    assert!(has(
        &answered,
        &CallAction::CallerReInvite {
            sdp: agent_sdp("0")
        }
    ));
    assert_eq!(w.call.state(), CallState::Connected);
    assert_eq!(
        w.agent_state("alice"),
        AgentState::InCall { contact: CONTACT }
    );
    let reinvite = w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: Some(caller_sdp()),
    });
    assert_eq!(reinvite, vec![CallAction::CallerAck]);
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, leg]);
    // Caller hangs up: BYE the agent, ConnectionCleared once, agent to wrap-up.
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Bye { leg }));
    assert!(has(
        &bye,
        &CallAction::Cdr(CdrUpdate::Ended {
            cause: ClearCause::NormalClearing
        })
    ));
    assert!(w.call.is_done());
    assert!(w.call.legs_up().is_empty());
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    w.feed(CallInput::CallerBye);
    assert_eq!(w.cleared_count(), 1);
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn video_sdp_delivers_a_video_call() {
    let (_, first) = World::new(
        MediaMode::Direct,
        Some(sdp("10.0.0.1", 4000, "0", true)),
        "8000",
    );
    assert!(has(
        &first,
        &CallAction::Event(CstaEvent::CallDelivered {
            contact: CONTACT,
            media: Media::Video,
            leg: Leg::Caller
        })
    ));
}

#[test]
fn relay_mode_rewrites_every_sdp_and_repoints_without_reinvite() {
    let (mut w, first) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    let to_ivr = invite_ivr_sdp(&first).flatten().expect("offer to IVR");
    let d = sdp_plan::describe("t", &to_ivr).unwrap();
    assert_eq!(d.addr, relay().b_side);
    assert!(has(
        &first,
        &CallAction::RelayPoint {
            side_b: None,
            side_a: Some(addr("10.0.0.1:4000"))
        }
    ));
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &ok,
        &CallAction::RelayPoint {
            side_b: Some(addr("127.0.0.1:6000")),
            side_a: None
        }
    ));
    let answer = ok
        .iter()
        .find_map(|a| match a {
            CallAction::CallerAnswer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sdp_plan::describe("t", &answer).unwrap().addr,
        relay().a_side
    );
    assert!(!text(&answer).contains("127.0.0.1"));
    w.feed(CallInput::CallerAck { sdp: None });
    let divert = w.request_agent("sales");
    let (leg, _, offer) = invite_agent(&divert).unwrap();
    // A fresh B-side offer carrying only the codec the IVR chose (PCMU).
    let offer = text(&offer.unwrap());
    assert!(offer.contains("m=audio 20002 RTP/AVP 0 101\r\n"), "{offer}");
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert!(has(
        &answered,
        &CallAction::RelayPoint {
            side_b: Some(addr("10.0.0.50:8000")),
            side_a: None
        }
    ));
    assert!(!answered
        .iter()
        .any(|a| matches!(a, CallAction::CallerReInvite { .. })));
    assert_eq!(w.call.state(), CallState::Connected);
}

#[test]
fn relay_mode_reinvites_the_caller_when_the_agent_codec_differs() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let answered = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("8")),
    });
    let re = answered
        .iter()
        .find_map(|a| match a {
            CallAction::CallerReInvite { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .expect("re-INVITE");
    let d = sdp_plan::describe("t", &re).unwrap();
    assert_eq!(
        (d.addr, d.codec),
        (relay().a_side, Some(crate::media::Codec::Pcma))
    );
    assert_eq!(
        w.feed(CallInput::ReInviteAnswered {
            leg: LegId::CALLER,
            sdp: Some(caller_sdp())
        }),
        vec![CallAction::CallerAck]
    );
}

#[test]
fn late_offer_direct_relays_offer_in_200_and_answer_in_ack() {
    let (mut w, first) = World::new(MediaMode::Direct, None, "8000");
    assert_eq!(invite_ivr_sdp(&first), Some(None));
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(&ok, &CallAction::CallerAnswer { sdp: ivr_sdp() }));
    assert!(
        !ok.iter().any(|a| matches!(a, CallAction::Ack { .. })),
        "ACK waits for the caller's answer"
    );
    let ack = w.feed(CallInput::CallerAck {
        sdp: Some(caller_sdp()),
    });
    assert_eq!(
        ack,
        vec![CallAction::Ack {
            leg: LegId::IVR,
            sdp: Some(caller_sdp())
        }]
    );
    // The agent later gets the caller's answer as its offer.
    let (_, _, offer) = invite_agent(&w.request_agent("sales")).unwrap();
    assert_eq!(offer, Some(caller_sdp()));
}

#[test]
fn late_offer_relay_rewrites_both_directions() {
    let (mut w, _) = World::new(MediaMode::Relay, None, "8000");
    let ok = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    let answer = ok
        .iter()
        .find_map(|a| match a {
            CallAction::CallerAnswer { sdp } => Some(sdp.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sdp_plan::describe("t", &answer).unwrap().addr,
        relay().a_side
    );
    let ack = w.feed(CallInput::CallerAck {
        sdp: Some(caller_sdp()),
    });
    assert!(has(
        &ack,
        &CallAction::RelayPoint {
            side_b: None,
            side_a: Some(addr("10.0.0.1:4000"))
        }
    ));
    let to_ivr = ack
        .iter()
        .find_map(|a| match a {
            CallAction::Ack { sdp: Some(s), .. } => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(
        sdp_plan::describe("t", &to_ivr).unwrap().addr,
        relay().b_side
    );
}

#[test]
fn late_offer_ack_without_answer_clears_the_call() {
    let (mut w, _) = World::new(MediaMode::Direct, None, "8000");
    w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    let ack = w.feed(CallInput::CallerAck { sdp: None });
    assert!(has(&ack, &CallAction::CallerBye));
    assert!(has(&ack, &CallAction::Bye { leg: LegId::IVR }));
    assert!(w.call.is_done());
}

#[test]
fn unknown_dnis_is_rejected_404_and_cleared() {
    let (w, first) = World::new(MediaMode::Direct, Some(caller_sdp()), "9999");
    assert!(has(
        &first,
        &CallAction::CallerReject {
            code: 404,
            reason: "Not Found".into()
        }
    ));
    assert!(invite_ivr_sdp(&first).is_none());
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
    assert!(w.cti.contact(CONTACT).is_none());
}

#[test]
fn bad_caller_sdp_is_refused_before_the_cti_hears_of_it() {
    let (w, first) = World::new(MediaMode::Direct, Some(b"not sdp".to_vec()), "8000");
    assert!(matches!(
        first.first(),
        Some(CallAction::CallerReject { code: 400, .. })
    ));
    assert!(!first.iter().any(|a| matches!(a, CallAction::Cti(_))));
    assert!(w.call.is_done());
}

#[test]
fn ivr_failure_passes_its_code_to_the_caller() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    let fail = w.feed(CallInput::Failed {
        leg: LegId::IVR,
        code: 486,
    });
    assert!(has(
        &fail,
        &CallAction::CallerReject {
            code: 486,
            reason: "IVR failed".into()
        }
    ));
    assert!(has(
        &fail,
        &CallAction::Cti(cti::Input::ConnectionCleared {
            contact: CONTACT,
            cause: ClearCause::Busy
        })
    ));
    assert!(w.call.is_done());
}

#[test]
fn caller_cancel_while_ivr_rings_cancels_it_and_answers_487() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.feed(CallInput::Provisional {
        leg: LegId::IVR,
        code: 180,
        sdp: None,
    });
    let cancel = w.feed(CallInput::CallerCancel);
    assert!(has(&cancel, &CallAction::Cancel { leg: LegId::IVR }));
    assert!(has(
        &cancel,
        &CallAction::CallerReject {
            code: 487,
            reason: "Request Terminated".into()
        }
    ));
    assert_eq!(w.call.state(), CallState::Clearing);
    assert_eq!(w.call.legs_up(), vec![LegId::IVR]);
    w.feed(CallInput::Failed {
        leg: LegId::IVR,
        code: 487,
    });
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn ivr_answering_after_the_caller_cancelled_is_acked_and_byed() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.feed(CallInput::CallerCancel);
    let late = w.feed(CallInput::Answered {
        leg: LegId::IVR,
        sdp: Some(ivr_sdp()),
    });
    assert_eq!(
        late,
        vec![
            CallAction::Ack {
                leg: LegId::IVR,
                sdp: None
            },
            CallAction::Bye { leg: LegId::IVR }
        ]
    );
    assert!(w.call.is_done());
}

impl World {
    fn set_ready(&mut self, name: &str, ready: bool) {
        let agent = AgentId::from(name);
        let input = if ready {
            cti::Input::SetReady { agent }
        } else {
            cti::Input::SetNotReady {
                agent,
                reason: "away".into(),
            }
        };
        let outs = self.cti.handle(self.now, input);
        let back = self.route(outs);
        self.pump(back);
    }
}

#[test]
fn caller_bye_in_queue_byes_the_ivr_and_dequeues() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.set_ready("alice", false);
    w.in_ivr();
    assert!(invite_agent(&w.request_agent("sales")).is_none());
    assert_eq!(w.call.state(), CallState::Queued);
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Bye { leg: LegId::IVR }));
    assert!(w.call.is_done());
    assert!(w.cti.contact(CONTACT).is_none());
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn queue_timeout_lets_the_ivr_say_goodbye_then_the_caller_is_byed() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.set_ready("alice", false);
    w.in_ivr();
    w.request_agent("sales");
    let timeout = w.advance(61);
    assert_eq!(
        timeout,
        vec![CallAction::Ivr(CtiToIvr::QueueTimeout { contact: CONTACT })]
    );
    assert_eq!(w.call.state(), CallState::InIvr);
    let goodbye = w.feed(CallInput::IvrHungUp);
    assert!(has(&goodbye, &CallAction::CallerBye));
    assert!(has(
        &goodbye,
        &CallAction::Event(CstaEvent::ConnectionCleared {
            contact: CONTACT,
            cause: ClearCause::NormalClearing
        })
    ));
    assert!(w.call.is_done());
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn no_agents_goes_to_the_ivr() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let none = w.feed(CallInput::IvrRequestsAgent {
        queue: "vip".into(),
        skills: vec!["french".into()],
        priority: 0,
    });
    assert!(has(
        &none,
        &CallAction::Ivr(CtiToIvr::NoAgents { contact: CONTACT })
    ));
    assert_eq!(w.call.state(), CallState::InIvr);
}

#[test]
fn agent_reject_requeues_and_the_next_agent_gets_attempt_2() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg1, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.set_ready("alice", false);
    w.set_ready("bob", true);
    let busy = w.feed(CallInput::Failed {
        leg: leg1,
        code: 486,
    });
    assert!(has(
        &busy,
        &CallAction::Cti(cti::Input::AgentRejected { contact: CONTACT })
    ));
    let (leg2, agent, offer) = invite_agent(&busy).expect("re-routed");
    assert_eq!(
        (leg2, agent.as_str(), offer),
        (LegId::agent(2), "bob", Some(caller_sdp()))
    );
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER, leg2]);
}

#[test]
fn agent_408_is_reported_as_no_answer() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let out = w.feed(CallInput::Failed { leg, code: 408 });
    assert!(has(
        &out,
        &CallAction::Cti(cti::Input::AgentNoAnswer { contact: CONTACT })
    ));
}

#[test]
fn cti_ring_timeout_cancels_the_agent_and_a_late_200_is_acked_and_byed() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    // alice goes NotReady while ringing, so nobody takes the requeued call.
    w.set_ready("alice", false);
    let timeout = w.advance(21);
    assert!(has(&timeout, &CallAction::Cancel { leg }));
    assert_eq!(w.call.state(), CallState::Queued);
    // The 200 crossed our CANCEL: ACK and BYE it; the CTI hears nothing more.
    let late = w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert_eq!(
        late,
        vec![CallAction::Ack { leg, sdp: None }, CallAction::Bye { leg }]
    );
    assert_eq!(w.call.legs_up(), vec![LegId::CALLER]);
    assert_eq!(w.agent_state("alice"), AgentState::Idle);
    assert_eq!(w.cti.check_invariants(), Ok(()));
}

#[test]
fn caller_bye_while_agent_rings_cancels_the_agent() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    let bye = w.feed(CallInput::CallerBye);
    assert!(has(&bye, &CallAction::Cancel { leg }));
    assert_eq!(w.call.state(), CallState::Clearing);
    assert_eq!(w.agent_state("alice"), AgentState::Idle);
    let out = w.feed(CallInput::Failed { leg, code: 487 });
    assert!(out.is_empty(), "{out:?}");
    assert!(w.call.is_done());
}

#[test]
fn agent_bye_when_connected_byes_the_caller() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: None,
    });
    let bye = w.feed(CallInput::Bye { leg });
    assert!(has(&bye, &CallAction::CallerBye));
    assert!(w.call.is_done());
    assert_eq!(w.agent_state("alice"), AgentState::WrapUp);
    assert_eq!(w.cleared_count(), 1);
}

#[test]
fn caller_refusing_the_reinvite_ends_the_call() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    let fail = w.feed(CallInput::ReInviteFailed {
        leg: LegId::CALLER,
        code: 488,
    });
    assert!(has(&fail, &CallAction::CallerBye));
    assert!(has(&fail, &CallAction::Bye { leg }));
    assert!(w.call.is_done());
}

#[test]
fn agent_answer_without_usable_sdp_is_a_rejected_offer() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let out = w.feed(CallInput::Answered { leg, sdp: None });
    assert!(has(&out, &CallAction::Ack { leg, sdp: None }));
    assert!(has(&out, &CallAction::Bye { leg }));
    assert!(has(
        &out,
        &CallAction::Cti(cti::Input::AgentRejected { contact: CONTACT })
    ));
    assert_ne!(w.call.state(), CallState::Connected);
}

#[test]
fn relay_mode_without_addresses_is_refused() {
    let setup = CallSetup {
        contact: CONTACT,
        caller: "sip:c@x".into(),
        dnis: "8000".into(),
        sdp: Some(caller_sdp()),
        mode: MediaMode::Relay,
        relay: None,
    };
    let (call, out) = Call::new(Instant::now(), setup);
    assert!(matches!(
        out.first(),
        Some(CallAction::CallerReject { code: 500, .. })
    ));
    assert!(call.is_done());
}

#[test]
fn a_failure_reported_on_an_answered_agent_leg_is_ignored() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("0")),
    });
    assert!(w.feed(CallInput::Failed { leg, code: 486 }).is_empty());
    assert_eq!(w.call.state(), CallState::Connected);
    assert_eq!(
        w.agent_state("alice"),
        AgentState::InCall { contact: CONTACT }
    );
}

#[test]
fn relay_mode_early_media_reaches_the_caller_through_the_relay() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    let early = w.feed(CallInput::Provisional {
        leg: LegId::IVR,
        code: 183,
        sdp: Some(ivr_sdp()),
    });
    assert!(has(
        &early,
        &CallAction::RelayPoint {
            side_b: Some(addr("127.0.0.1:6000")),
            side_a: None
        }
    ));
    let body = early
        .iter()
        .find_map(|a| match a {
            CallAction::CallerProvisional {
                code: 183,
                sdp: Some(s),
            } => Some(s.clone()),
            _ => None,
        })
        .expect("183 with SDP");
    assert_eq!(sdp_plan::describe("t", &body).unwrap().addr, relay().a_side);
}

#[test]
fn relay_mode_follows_a_caller_that_moves_its_media_in_the_reinvite_answer() {
    let (mut w, _) = World::new(MediaMode::Relay, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    w.feed(CallInput::Answered {
        leg,
        sdp: Some(agent_sdp("8")),
    });
    let moved = sdp("10.0.0.1", 4100, "8", false);
    let ok = w.feed(CallInput::ReInviteAnswered {
        leg: LegId::CALLER,
        sdp: Some(moved),
    });
    assert_eq!(
        ok,
        vec![
            CallAction::CallerAck,
            CallAction::RelayPoint {
                side_b: None,
                side_a: Some(addr("10.0.0.1:4100"))
            }
        ]
    );
}

#[test]
fn agent_ringing_is_delivered_once_per_leg() {
    let (mut w, _) = World::new(MediaMode::Direct, Some(caller_sdp()), "8000");
    w.in_ivr();
    let (leg, _, _) = invite_agent(&w.request_agent("sales")).unwrap();
    let first = w.feed(CallInput::Provisional {
        leg,
        code: 180,
        sdp: None,
    });
    assert!(has(
        &first,
        &CallAction::Event(CstaEvent::CallDelivered {
            contact: CONTACT,
            media: Media::Audio,
            leg: Leg::Agent
        })
    ));
    assert!(w
        .feed(CallInput::Provisional {
            leg,
            code: 180,
            sdp: None
        })
        .is_empty());
}

#[test]
fn ivr_failure_codes_map_for_the_caller_and_the_cdr() {
    assert_eq!(caller_code(486), 486);
    assert_eq!(caller_code(407), 502);
    assert_eq!(caller_code(302), 502);
    assert_eq!(cause_of(600), ClearCause::Busy);
    assert_eq!(cause_of(408), ClearCause::NoAnswer);
    assert_eq!(cause_of(503), ClearCause::NetworkFailure);
}
