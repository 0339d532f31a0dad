//! Property test of the B2BUA call model (MISSION.md steps 1–10): one or
//! two `b2bua::Call`s, competing for the same two agents, driven together
//! with a real `cti::Cti`: each call's `Cti(..)` actions go into the CTI
//! and the CTI's outputs come back to the call they name. Random
//! interleavings of caller, IVR, agent, desk and CTI-timer events — hangups
//! at every stage, rejects, ring and queue timeouts, late answers, re-INVITE
//! outcomes — in direct and relay mode, early and late offer. After every
//! step: no panic, the CTI's invariants hold, the CTI never refuses what a
//! call told it, at most one ConnectionCleared per call. At the end, once
//! every caller is gone and every pending leg got its final response (487,
//! or a 2xx crossing our CANCEL, which must be ACKed and BYEd): no leg is
//! up, every call is Done with exactly one ConnectionCleared (event, CTI
//! input, CDR end), the CTI holds no contact and no agent is left Reserved,
//! Ringing or InCall.

use proptest::prelude::*;
use softacd::b2bua::*;
use softacd::cti::{self, *};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Calls in flight at once, competing for the same agents.
const CALLS: usize = 2;
const AGENTS: [&str; 2] = ["alice", "bob"];

#[derive(Debug, Clone)]
enum Op {
    IvrProvisional(bool),
    IvrAnswer(bool),
    IvrFail(u16),
    IvrBye,
    CallerAck(bool),
    CallerCancel,
    CallerBye,
    RequestAgent(bool),
    AgentProvisional(u8),
    AgentAnswer(u8, u8),
    AgentFail(u8, u16),
    AgentBye(u8),
    ReInviteOk,
    ReInviteFail,
    Ready(u8, bool),
    Advance(u64),
}

fn code() -> impl Strategy<Value = u16> {
    prop_oneof![
        Just(486u16),
        Just(408),
        Just(480),
        Just(487),
        Just(603),
        Just(500)
    ]
}

/// Progress (answers, ACKs, requests, ringing) is weighted well above
/// the endings so that many runs reach the agent and talk before hanging up.
fn op() -> impl Strategy<Value = Op> {
    let mostly = || prop::bool::weighted(0.9);
    prop_oneof![
        3 => any::<bool>().prop_map(Op::IvrProvisional),
        8 => mostly().prop_map(Op::IvrAnswer),
        1 => code().prop_map(Op::IvrFail),
        1 => Just(Op::IvrBye),
        8 => mostly().prop_map(Op::CallerAck),
        1 => Just(Op::CallerCancel),
        1 => Just(Op::CallerBye),
        8 => prop::bool::weighted(0.1).prop_map(Op::RequestAgent),
        4 => (0..4u8).prop_map(Op::AgentProvisional),
        6 => (0..4u8, 0..5u8).prop_map(|(l, s)| Op::AgentAnswer(l, s)),
        2 => (0..4u8, code()).prop_map(|(l, c)| Op::AgentFail(l, c)),
        1 => (0..4u8).prop_map(Op::AgentBye),
        4 => Just(Op::ReInviteOk),
        1 => Just(Op::ReInviteFail),
        3 => (0..2u8, any::<bool>()).prop_map(|(a, r)| Op::Ready(a, r)),
        3 => (0..30u64).prop_map(Op::Advance),
    ]
}

fn sdp(ip: &str, port: u16, fmts: &str) -> Vec<u8> {
    format!("v=0\r\no=x 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {fmts}\r\n")
        .into_bytes()
}

fn config() -> CtiConfig {
    let mut cfg = CtiConfig {
        ring_timeout: Duration::from_secs(10),
        max_no_answer: 2,
        ..CtiConfig::default()
    };
    cfg.dnis_scripts.insert("100".into(), "main".into());
    let q = QueueConfig {
        max_size: 5,
        max_wait: Some(Duration::from_secs(40)),
        wrap_up: Duration::from_secs(5),
        no_agents: NoAgents::Wait,
        ..QueueConfig::default()
    };
    let strict = QueueConfig {
        no_agents: NoAgents::Reject,
        ..q.clone()
    };
    cfg.queues.insert(QueueName::from("sales"), q);
    cfg.queues.insert(QueueName::from("vip"), strict);
    cfg
}

struct World {
    now: Instant,
    cti: Cti,
    /// Call `i` is contact `i + 1`.
    calls: Vec<Call>,
    logs: Vec<Vec<CallAction>>,
    /// The call the current op is about.
    cur: usize,
    refused: Vec<CtiError>,
}

/// One call's setup: media mode, early or late offer, known DNIS.
#[derive(Debug, Clone, Copy)]
struct Shape {
    relay: bool,
    early: bool,
    known_dnis: bool,
}

fn shape() -> impl Strategy<Value = Shape> {
    (any::<bool>(), any::<bool>(), prop::bool::weighted(0.9)).prop_map(
        |(relay, early, known_dnis)| Shape {
            relay,
            early,
            known_dnis,
        },
    )
}

impl World {
    fn new(shapes: &[Shape]) -> World {
        let now = Instant::now();
        let mut cti = Cti::new(config());
        for a in AGENTS {
            let skills = [(Skill::from("sales"), 3)].into_iter().collect();
            let device = format!("sip:{a}@10.0.0.50");
            cti.handle(
                now,
                cti::Input::SignIn {
                    agent: AgentId::from(a),
                    device,
                    skills,
                },
            );
        }
        let mut w = World {
            now,
            cti,
            calls: Vec::new(),
            logs: Vec::new(),
            cur: 0,
            refused: Vec::new(),
        };
        for (i, sh) in shapes.iter().enumerate() {
            let setup = CallSetup {
                contact: ContactId(i as u64 + 1),
                caller: "sip:carol@example.com".into(),
                dnis: if sh.known_dnis { "100" } else { "555" }.into(),
                sdp: sh.early.then(|| sdp("10.0.0.1", 4000, "0 8")),
                mode: if sh.relay {
                    MediaMode::Relay
                } else {
                    MediaMode::Direct
                },
                relay: Some(RelayAddrs {
                    a_side: "192.0.2.1:20000".parse().unwrap(),
                    b_side: "192.0.2.1:20002".parse().unwrap(),
                }),
                trunk: None,
            };
            let (call, first) = Call::new(now, setup);
            w.calls.push(call);
            w.logs.push(Vec::new());
            w.pump(i, first);
        }
        w
    }

    fn call(&self) -> &Call {
        &self.calls[self.cur]
    }

    fn feed(&mut self, input: CallInput) {
        let cur = self.cur;
        let first = self.calls[cur].handle(self.now, input);
        self.pump(cur, first);
    }

    fn pump(&mut self, from: usize, first: Vec<CallAction>) {
        let mut todo: VecDeque<(usize, CallAction)> =
            first.into_iter().map(|a| (from, a)).collect();
        while let Some((i, a)) = todo.pop_front() {
            if let CallAction::Cti(input) = &a {
                let outs = self.cti.handle(self.now, input.clone());
                todo.extend(self.route(outs));
            }
            self.logs[i].push(a);
        }
    }

    /// CTI outputs to the call they name; the actions that came back.
    fn route(&mut self, outs: Vec<Output>) -> Vec<(usize, CallAction)> {
        let mut back = Vec::new();
        for o in outs {
            if let Output::Refused { error } = &o {
                self.refused.push(error.clone());
            }
            let Some(ContactId(id)) = o.contact() else {
                continue;
            };
            let i = id as usize - 1;
            if let Some(call) = self.calls.get_mut(i) {
                let acts = call.handle(self.now, CallInput::Cti(o));
                back.extend(acts.into_iter().map(|a| (i, a)));
            }
        }
        back
    }

    fn pump_routed(&mut self, back: Vec<(usize, CallAction)>) {
        for (i, a) in back {
            self.pump(i, vec![a]);
        }
    }

    fn desk(&mut self, input: cti::Input) {
        let outs = self.cti.handle(self.now, input);
        let back = self.route(outs);
        self.pump_routed(back);
    }

    fn advance(&mut self, secs: u64) {
        self.now += Duration::from_secs(secs);
        let outs = self.cti.handle_timeout(self.now);
        let back = self.route(outs);
        self.pump_routed(back);
    }

    /// An agent leg: one of those up, or a stale/unknown attempt.
    fn agent_leg(&self, pick: u8) -> LegId {
        let up: Vec<LegId> = self
            .call()
            .legs_up()
            .into_iter()
            .filter(|l| l.kind == LegKind::Agent)
            .collect();
        match up.get(usize::from(pick)) {
            Some(leg) => *leg,
            None => LegId::agent(u32::from(pick) + 1),
        }
    }

    fn count(&self, call: usize, f: impl Fn(&CallAction) -> bool) -> usize {
        self.logs[call].iter().filter(|a| f(a)).count()
    }

    fn cleared(&self, call: usize) -> usize {
        self.count(call, |a| {
            matches!(a, CallAction::Event(CstaEvent::ConnectionCleared { .. }))
        })
    }

    fn apply(&mut self, op: Op) {
        let ivr = LegId::IVR;
        match op {
            Op::IvrProvisional(with_sdp) => self.feed(CallInput::Provisional {
                leg: ivr,
                code: 183,
                sdp: with_sdp.then(|| sdp("127.0.0.1", 6000, "0")),
            }),
            Op::IvrAnswer(with_sdp) => self.feed(CallInput::Answered {
                leg: ivr,
                sdp: with_sdp.then(|| sdp("127.0.0.1", 6000, "0")),
            }),
            Op::IvrFail(code) => self.feed(CallInput::Failed { leg: ivr, code }),
            Op::IvrBye => self.feed(CallInput::IvrHungUp),
            Op::CallerAck(with_sdp) => self.feed(CallInput::CallerAck {
                sdp: with_sdp.then(|| sdp("10.0.0.1", 4000, "0")),
            }),
            Op::CallerCancel => self.feed(CallInput::CallerCancel),
            Op::CallerBye => self.feed(CallInput::CallerBye),
            Op::RequestAgent(vip) => self.feed(CallInput::IvrRequestsAgent {
                queue: if vip { "vip" } else { "sales" }.into(),
                skills: vec![if vip { "french" } else { "sales" }.into()],
                priority: 1,
            }),
            Op::AgentProvisional(l) => {
                let leg = self.agent_leg(l);
                self.feed(CallInput::Provisional {
                    leg,
                    code: 180,
                    sdp: None,
                })
            }
            Op::AgentAnswer(l, s) => {
                let leg = self.agent_leg(l);
                let sdp = match s {
                    0 => None,
                    1 | 2 => Some(sdp("10.0.0.50", 8000, "0")),
                    _ => Some(sdp("10.0.0.50", 8000, "8")),
                };
                self.feed(CallInput::Answered { leg, sdp })
            }
            Op::AgentFail(l, code) => {
                let leg = self.agent_leg(l);
                self.feed(CallInput::Failed { leg, code })
            }
            Op::AgentBye(l) => {
                let leg = self.agent_leg(l);
                self.feed(CallInput::Bye { leg })
            }
            Op::ReInviteOk => self.feed(CallInput::ReInviteAnswered {
                leg: LegId::CALLER,
                sdp: Some(sdp("10.0.0.1", 4000, "0")),
            }),
            Op::ReInviteFail => self.feed(CallInput::ReInviteFailed {
                leg: LegId::CALLER,
                code: 488,
            }),
            Op::Ready(a, ready) => {
                let agent = AgentId::from(AGENTS[usize::from(a) % AGENTS.len()]);
                self.desk(if ready {
                    cti::Input::SetReady { agent }
                } else {
                    cti::Input::SetNotReady {
                        agent,
                        reason: "away".into(),
                    }
                })
            }
            Op::Advance(s) => self.advance(s),
        }
    }

    /// Every caller leaves and every pending leg gets its final response:
    /// 487 to our CANCEL, or (`late_answers`) a 2xx that crossed it.
    fn wind_down(&mut self, late_answers: bool) {
        for cur in 0..self.calls.len() {
            self.cur = cur;
            self.feed(CallInput::CallerCancel);
            self.feed(CallInput::CallerBye);
            for _ in 0..4 {
                for leg in self.call().legs_up() {
                    if leg.kind != LegKind::Caller {
                        self.final_response(leg, late_answers);
                    }
                }
            }
        }
        // Let wrap-ups and any CTI timers run out.
        self.advance(3600);
    }

    fn final_response(&mut self, leg: LegId, late_answer: bool) {
        if !late_answer {
            return self.feed(CallInput::Failed { leg, code: 487 });
        }
        let before = self.logs[self.cur].len();
        self.feed(CallInput::Answered { leg, sdp: None });
        let tail = self.logs[self.cur].get(before..).unwrap_or_default();
        let want = [CallAction::Ack { leg, sdp: None }, CallAction::Bye { leg }];
        assert_eq!(tail, &want[..]);
    }
}

fn check_step(w: &World) -> Result<(), TestCaseError> {
    prop_assert_eq!(w.cti.check_invariants(), Ok(()));
    prop_assert!(w.refused.is_empty(), "CTI refused {:?}", w.refused);
    for (i, call) in w.calls.iter().enumerate() {
        prop_assert!(w.cleared(i) <= 1);
        prop_assert!(call.legs_up().len() <= 1 + MAX_LIVE_LEGS);
    }
    Ok(())
}

fn check_end(w: &World) -> Result<(), TestCaseError> {
    for (i, call) in w.calls.iter().enumerate() {
        prop_assert!(
            call.legs_up().is_empty(),
            "call {} legs up: {:?}",
            i,
            call.legs_up()
        );
        prop_assert!(call.is_done(), "call {} state {:?}", i, call.state());
        prop_assert_eq!(w.cleared(i), 1);
        let to_cti = w.count(i, |a| {
            matches!(a, CallAction::Cti(cti::Input::ConnectionCleared { .. }))
        });
        let cdr_end = w.count(i, |a| matches!(a, CallAction::Cdr(CdrUpdate::Ended { .. })));
        prop_assert_eq!((to_cti, cdr_end), (1, 1));
        prop_assert!(w.cti.contact(call.contact()).is_none());
    }
    for a in w.cti.agents() {
        prop_assert!(
            matches!(a.state, AgentState::Idle | AgentState::WrapUp),
            "{:?} left {:?}",
            a.id,
            a.state
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn every_interleaving_ends_clean(
        shapes in prop::collection::vec(shape(), 1..=CALLS),
        late_answers in any::<bool>(),
        ops in prop::collection::vec((0..CALLS, op()), 0..80),
    ) {
        let mut w = World::new(&shapes);
        check_step(&w)?;
        for (call, op) in ops {
            w.cur = call % w.calls.len();
            w.apply(op);
            check_step(&w)?;
        }
        w.wind_down(late_answers);
        check_step(&w)?;
        check_end(&w)?;
        // A 2xx that arrives after the end is ACKed and BYEd, nothing else.
        let leg = LegId::agent(99);
        let stray = w.calls[0].handle(w.now, CallInput::Answered { leg, sdp: None });
        prop_assert_eq!(stray, vec![CallAction::Ack { leg, sdp: None }, CallAction::Bye { leg }]);
    }
}

proptest! {
    /// Relay rewriting reads whatever a peer sends: junk is refused, never
    /// a panic; what it accepts comes out pointing at the relay.
    #[test]
    fn relay_rewrite_never_panics(
        body in prop::collection::vec(any::<u8>(), 0..400),
        cut in 0usize..200,
        flip in any::<u8>(),
    ) {
        let to: std::net::SocketAddr = "192.0.2.1:20000".parse().unwrap();
        let origin = sdp_plan::Origin { session_id: 1, version: 1 };
        let _ = sdp_plan::rewrite("junk", &body, to, origin);
        let mut valid = sdp("10.0.0.1", 4000, "0 8");
        if let Some(b) = valid.get_mut(cut) {
            *b ^= flip;
        }
        if let Ok(out) = sdp_plan::rewrite("mutated", &valid, to, origin) {
            prop_assert_eq!(sdp_plan::describe("out", &out).map(|d| d.addr), Ok(to));
        }
    }
}
