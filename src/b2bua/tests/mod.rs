//! Scenario tests of the call model, each a stretch of MISSION.md steps
//! 1–10 driven against a real `cti::Cti`: the call's `Cti(..)` actions go
//! into the CTI and its outputs for the contact come back into the call.
//! Time is injected; nothing sleeps. Split by concern: `flow` (steps
//! 1–7, endings), `agent` (steps 8–10), `media` (SDP and relay),
//! `transfer` (the IVR's transfer node).

mod agent;
mod callback;
mod desk_hold;
mod desk_transfer;
mod flow;
mod media;
mod transfer;

pub(super) use super::*;
use crate::cti::{
    self, AgentId, AgentState, ClearCause, ContactId, CstaEvent, Cti, CtiConfig, Leg, Media,
    NoAgents, Output, QueueConfig, QueueName, Skill,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub(super) const CONTACT: ContactId = ContactId(42);

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

pub(super) fn caller_sdp() -> Vec<u8> {
    sdp("10.0.0.1", 4000, "0 8", false)
}
pub(super) fn ivr_sdp() -> Vec<u8> {
    sdp("127.0.0.1", 6000, "0", false)
}
pub(super) fn agent_sdp(fmts: &str) -> Vec<u8> {
    sdp("10.0.0.50", 8000, fmts, false)
}
pub(super) fn relay() -> RelayAddrs {
    RelayAddrs {
        a_side: "192.0.2.1:20000".parse().unwrap(),
        b_side: "192.0.2.2:20002".parse().unwrap(),
    }
}
pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

pub(super) fn cti_config() -> CtiConfig {
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
        ..QueueConfig::default()
    };
    let vip = QueueConfig {
        no_agents: NoAgents::Reject,
        ..sales.clone()
    };
    cfg.queues.insert(QueueName::from("sales"), sales);
    cfg.queues.insert(QueueName::from("vip"), vip);
    cfg
}

pub(super) struct World {
    pub(super) now: Instant,
    pub(super) cti: Cti,
    pub(super) call: Call,
    /// Every action the call emitted, in order.
    pub(super) log: Vec<CallAction>,
}

impl World {
    pub(super) fn new(
        mode: MediaMode,
        caller: Option<Vec<u8>>,
        dnis: &str,
    ) -> (World, Vec<CallAction>) {
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
            trunk: None,
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
    pub(super) fn feed(&mut self, input: CallInput) -> Vec<CallAction> {
        let first = self.call.handle(self.now, input);
        self.pump(first)
    }

    pub(super) fn pump(&mut self, first: Vec<CallAction>) -> Vec<CallAction> {
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

    pub(super) fn route(&mut self, outs: Vec<Output>) -> Vec<CallAction> {
        let mut back = Vec::new();
        for o in outs {
            if o.contact() == Some(CONTACT) {
                back.extend(self.call.handle(self.now, CallInput::Cti(o)));
            }
        }
        back
    }

    pub(super) fn advance(&mut self, secs: u64) -> Vec<CallAction> {
        self.now += Duration::from_secs(secs);
        let outs = self.cti.handle_timeout(self.now);
        let back = self.route(outs);
        self.pump(back)
    }

    pub(super) fn agent_state(&self, name: &str) -> AgentState {
        self.cti.agent(&AgentId::from(name)).unwrap().state.clone()
    }

    pub(super) fn cleared_count(&self) -> usize {
        self.log
            .iter()
            .filter(|a| matches!(a, CallAction::Event(CstaEvent::ConnectionCleared { .. })))
            .count()
    }

    /// Steps 1–4 up to the caller's ACK.
    pub(super) fn in_ivr(&mut self) {
        self.feed(CallInput::Answered {
            leg: LegId::IVR,
            sdp: Some(ivr_sdp()),
        });
        self.feed(CallInput::CallerAck { sdp: None });
        assert_eq!(self.call.state(), CallState::InIvr);
    }

    pub(super) fn request_agent(&mut self, queue: &str) -> Vec<CallAction> {
        self.feed(CallInput::IvrRequestsAgent {
            queue: queue.into(),
            skills: vec!["sales".into()],
            priority: 1,
        })
    }
}

pub(super) fn has(actions: &[CallAction], want: &CallAction) -> bool {
    actions.contains(want)
}

pub(super) fn invite_ivr_sdp(actions: &[CallAction]) -> Option<Option<Vec<u8>>> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteIvr { sdp, .. } => Some(sdp.clone()),
        _ => None,
    })
}

pub(super) fn invite_agent(actions: &[CallAction]) -> Option<(LegId, String, Option<Vec<u8>>)> {
    actions.iter().find_map(|a| match a {
        CallAction::InviteAgent {
            leg, agent, sdp, ..
        } => Some((*leg, agent.0.clone(), sdp.clone())),
        _ => None,
    })
}

pub(super) fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl World {
    pub(super) fn set_ready(&mut self, name: &str, ready: bool) {
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
