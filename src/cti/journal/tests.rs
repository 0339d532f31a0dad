//! Replay of the CTI journal with a real [`Cti`] and injected time: the
//! entries are produced the way the engine produces them (from inputs and
//! outputs), written as JSON and read back, folded, and restored into a
//! fresh CTI "after a restart".

use super::*;
use crate::cti::tests::{cfg, secs, skills};
use crate::cti::{ContactId, Cti, Leg, QueueName};
use std::time::Instant;

/// The engine's side of journaling: one input, its outputs, their entries.
struct Journaled {
    cti: Cti,
    rows: Vec<(u64, String)>,
}

impl Journaled {
    fn new() -> Self {
        Journaled {
            cti: Cti::new(cfg()),
            rows: Vec::new(),
        }
    }

    fn write(&mut self, at_ms: u64, e: Entry) {
        let json = serde_json::to_string(&e).expect("entry serializes");
        self.rows.push((at_ms, json));
    }

    fn handle(&mut self, now: Instant, at_ms: u64, input: Input) -> Vec<Output> {
        if let Some(e) = Entry::of_input(&input) {
            self.write(at_ms, e);
        }
        let outs = self.cti.handle(now, input);
        assert_eq!(self.cti.check_invariants(), Ok(()));
        for o in &outs {
            if let Some(e) = Entry::of_output(o) {
                self.write(at_ms, e);
            }
            if let Output::AgentStateChanged {
                agent,
                status,
                state,
            } = o
            {
                let e = match self.cti.agent(agent) {
                    Some(a) => Entry::Agent(AgentRecord::of(a, status, state, false)),
                    None => Entry::AgentSignedOut {
                        agent: agent.0.clone(),
                    },
                };
                self.write(at_ms, e);
            }
        }
        outs
    }

    /// Reads the rows back (JSON → entries) into a fold.
    fn replay(&self) -> Replay {
        let mut r = Replay::default();
        for (at, json) in &self.rows {
            let e: Entry = serde_json::from_str(json).expect("entry parses");
            r.apply(*at, &e);
        }
        r
    }
}

fn sign_in(j: &mut Journaled, now: Instant, agent: &str) {
    j.handle(
        now,
        1_000,
        Input::SignIn {
            agent: AgentId::from(agent),
            device: format!("sip:{agent}@10.0.0.9:5062"),
            skills: skills(&[("sales", 3)]),
        },
    );
}

/// Contact `id` arrives, asks for sales; returns the outputs of the request.
fn call_in(j: &mut Journaled, now: Instant, at_ms: u64, id: u64) -> Vec<Output> {
    let contact = ContactId(id);
    j.handle(
        now,
        at_ms,
        Input::CallDelivered {
            contact,
            media: Media::Audio,
            leg: Leg::Caller,
        },
    );
    j.handle(
        now,
        at_ms,
        Input::RouteRequest {
            contact,
            dnis: "8000".into(),
            caller: "sip:alice@example.com".into(),
            media: Media::Audio,
            trunk: Some("carrier".into()),
        },
    );
    j.handle(
        now,
        at_ms + 500,
        Input::RequestAgent {
            contact,
            queue: QueueName::from("sales"),
            skills: skills(&[("sales", 1)]),
            priority: 0,
        },
    )
}

fn diverted_to(outs: &[Output]) -> Option<String> {
    outs.iter().find_map(|o| match o {
        Output::DivertCall { agent, .. } => Some(agent.0.clone()),
        _ => None,
    })
}

/// An agent in call and one on break at "crash" time: after replay and
/// restore, both are signed in again, Idle, the break keeps its reason, the
/// call is listed as interrupted with its queue, agent and answer time, and
/// a new contact routes to the agent who was in call.
#[test]
fn restart_mid_call_rebuilds_agents_idle_and_lists_the_call() {
    let t0 = Instant::now();
    let mut j = Journaled::new();
    sign_in(&mut j, t0, "ann");
    sign_in(&mut j, t0, "bob");
    j.handle(
        t0,
        1_100,
        Input::SetNotReady {
            agent: AgentId::from("bob"),
            reason: "lunch".into(),
        },
    );
    let outs = call_in(&mut j, secs(t0, 2), 2_000, 7);
    assert_eq!(diverted_to(&outs).as_deref(), Some("ann"));
    j.handle(
        secs(t0, 3),
        3_000,
        Input::AgentRinging {
            contact: ContactId(7),
        },
    );
    j.handle(
        secs(t0, 4),
        4_000,
        Input::AgentAnswered {
            contact: ContactId(7),
        },
    );
    assert!(matches!(
        j.cti.agent(&AgentId::from("ann")).map(|a| &a.state),
        Some(AgentState::InCall { .. })
    ));

    // The process dies here. A new one replays the journal.
    let replay = j.replay();
    let ann = replay.agents().find(|a| a.agent == "ann").expect("ann");
    assert_eq!(ann.state, "in_call");
    assert_eq!(ann.contact, Some(7));
    let restore = replay.restore(|_| true);
    assert_eq!(restore.interrupted.len(), 1);
    let call = &restore.interrupted[0];
    assert_eq!(call.contact, 7);
    assert_eq!(call.arrived_ms, 2_000);
    assert_eq!(call.caller, "sip:alice@example.com");
    assert_eq!(call.dnis, "8000");
    assert_eq!(call.trunk.as_deref(), Some("carrier"));
    assert_eq!(call.queue.as_deref(), Some("sales"));
    assert_eq!(call.queued_ms, Some(2_500));
    assert_eq!(call.agent.as_deref(), Some("ann"));
    assert_eq!(call.answered_ms, Some(4_000));
    assert_eq!(replay.max_contact(), 7);

    let later = secs(t0, 3_600);
    let mut fresh = Cti::new(cfg());
    for input in restore.inputs {
        let out = fresh.handle(later, input);
        assert!(!out.iter().any(|o| matches!(o, Output::Refused { .. })));
    }
    assert_eq!(fresh.check_invariants(), Ok(()));
    let a = fresh.agent(&AgentId::from("ann")).expect("ann back");
    assert_eq!(
        (&a.status, &a.state),
        (&AgentStatus::Available, &AgentState::Idle)
    );
    assert_eq!(a.device, "sip:ann@10.0.0.9:5062");
    assert_eq!(a.skills, skills(&[("sales", 3)]));
    let b = fresh.agent(&AgentId::from("bob")).expect("bob back");
    assert_eq!(
        b.status,
        AgentStatus::NotReady {
            reason: "lunch".into()
        }
    );
    assert_eq!(b.state, AgentState::Idle);
    assert_eq!(fresh.contacts().count(), 0);

    // A new call routes to ann (bob is still on his break).
    let mut j2 = Journaled {
        cti: fresh,
        rows: Vec::new(),
    };
    let outs = call_in(&mut j2, later, 3_600_000, 8);
    assert_eq!(diverted_to(&outs).as_deref(), Some("ann"));
}

/// A sign-out pending while in call is carried out by the restart; an
/// agent that signed out for good is gone; an agent in wrap-up comes back
/// Idle (wrap-up is not resumed).
#[test]
fn pending_sign_out_is_carried_out_and_wrap_up_not_resumed() {
    let t0 = Instant::now();
    let mut j = Journaled::new();
    sign_in(&mut j, t0, "ann");
    sign_in(&mut j, t0, "cy");
    sign_in(&mut j, t0, "dee");
    j.handle(
        t0,
        1_000,
        Input::SignOut {
            agent: AgentId::from("dee"),
        },
    );
    let outs = call_in(&mut j, secs(t0, 1), 1_000, 1);
    let first = diverted_to(&outs).expect("offered");
    j.handle(
        secs(t0, 2),
        2_000,
        Input::AgentAnswered {
            contact: ContactId(1),
        },
    );
    let outs = call_in(&mut j, secs(t0, 3), 3_000, 2);
    let second = diverted_to(&outs).expect("offered");
    assert_ne!(first, second);
    j.handle(
        secs(t0, 4),
        4_000,
        Input::AgentAnswered {
            contact: ContactId(2),
        },
    );
    // The first agent asks to sign out mid-call; the second call ends (wrap-up).
    j.handle(
        secs(t0, 5),
        5_000,
        Input::SignOut {
            agent: AgentId(first.clone()),
        },
    );
    j.handle(
        secs(t0, 6),
        6_000,
        Input::ConnectionCleared {
            contact: ContactId(2),
            cause: ClearCause::NormalClearing,
        },
    );
    assert_eq!(
        j.cti.agent(&AgentId(second.clone())).map(|a| &a.state),
        Some(&AgentState::WrapUp)
    );

    let restore = j.replay().restore(|_| true);
    let signed: Vec<String> = restore
        .inputs
        .iter()
        .filter_map(|i| match i {
            Input::SignIn { agent, .. } => Some(agent.0.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(signed, vec![second.clone()]);
    let ids: Vec<u64> = restore.interrupted.iter().map(|c| c.contact).collect();
    assert_eq!(ids, vec![1]);
    let mut fresh = Cti::new(cfg());
    for input in restore.inputs {
        fresh.handle(secs(t0, 7), input);
    }
    let back = fresh.agent(&AgentId(second)).expect("second agent back");
    assert_eq!(back.state, AgentState::Idle);
    assert_eq!(fresh.poll_timeout(), None, "no wrap-up timer is resumed");
}

/// A snapshot replaces everything before it: folding the snapshot alone
/// gives the same state as folding the whole journal; `restarted` closes
/// every open contact; `keep` drops agents that are no longer seats.
#[test]
fn snapshot_restarted_and_keep() {
    let t0 = Instant::now();
    let mut j = Journaled::new();
    sign_in(&mut j, t0, "ann");
    sign_in(&mut j, t0, "bob");
    call_in(&mut j, secs(t0, 1), 1_000, 5);
    let full = j.replay();
    let mut from_snapshot = Replay::default();
    from_snapshot.apply(
        0,
        &Entry::Agent(full.agents().next().cloned().expect("one")),
    );
    from_snapshot.apply(9_000, &full.snapshot());
    assert_eq!(from_snapshot, full);

    let only_ann = full.restore(|a| a == "ann");
    assert_eq!(only_ann.inputs.len(), 1);

    let mut after = full.clone();
    after.apply(10_000, &Entry::Restarted { closed: vec![5] });
    assert_eq!(after.open_contacts().count(), 0);
    assert_eq!(after.max_contact(), 5, "ids stay above closed contacts");
}

/// The fold is bounded: past MAX_OPEN open contacts the oldest is forgotten.
#[test]
fn open_contacts_are_bounded() {
    let mut r = Replay::default();
    for id in 1..=(MAX_OPEN as u64 + 3) {
        r.apply(
            id,
            &Entry::ContactArrived {
                contact: id,
                caller: String::new(),
                dnis: String::new(),
                media: "audio".into(),
                trunk: None,
            },
        );
    }
    assert_eq!(r.open_contacts().count(), MAX_OPEN);
    assert_eq!(r.open_contacts().next().map(|c| c.contact), Some(4));
    assert_eq!(r.max_contact(), MAX_OPEN as u64 + 3);
}

/// Entries serialize with their `kind` tag (the journal's `kind` column
/// and what `GET /api/cti/events` shows).
#[test]
fn entries_carry_their_kind_tag() {
    let e = Entry::ContactCleared {
        contact: 3,
        cause: "server_restart".into(),
    };
    let v = serde_json::to_value(&e).expect("json");
    assert_eq!(v["kind"], e.kind());
    assert_eq!(v["contact"], 3);
    let a = Entry::Agent(AgentRecord {
        agent: "1001".into(),
        device: "sip:1001@127.0.0.1:5070".into(),
        skills: BTreeMap::new(),
        status: StatusRecord::NotReady {
            reason: "lunch".into(),
        },
        state: "idle".into(),
        contact: None,
        auto: true,
    });
    let v = serde_json::to_value(&a).expect("json");
    assert_eq!(v["kind"], "agent");
    assert_eq!(v["status"]["status"], "not_ready");
    assert_eq!(v["status"]["reason"], "lunch");
}

/// An offer the agent rejects puts the contact back in line: the fold no
/// longer names that agent, so an interrupted contact's CDR names nobody
/// who did not take it.
#[test]
fn a_rejected_offer_forgets_the_agent() {
    let t0 = Instant::now();
    let mut j = Journaled::new();
    sign_in(&mut j, t0, "ann");
    let outs = call_in(&mut j, secs(t0, 1), 1_000, 3);
    assert_eq!(diverted_to(&outs).as_deref(), Some("ann"));
    // The first rejection re-offers to ann (her only miss so far); the
    // second puts her on a break (max_no_answer 2) and the contact waits.
    let again = j.handle(
        secs(t0, 2),
        2_000,
        Input::AgentRejected {
            contact: ContactId(3),
        },
    );
    assert_eq!(diverted_to(&again).as_deref(), Some("ann"));
    assert_eq!(
        j.replay()
            .open_contacts()
            .next()
            .and_then(|c| c.agent.clone())
            .as_deref(),
        Some("ann")
    );
    let last = j.handle(
        secs(t0, 3),
        3_000,
        Input::AgentRejected {
            contact: ContactId(3),
        },
    );
    assert_eq!(diverted_to(&last), None);
    let r = j.replay();
    let open: Vec<&OpenContact> = r.open_contacts().collect();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].agent, None);
    assert_eq!(open[0].queue.as_deref(), Some("sales"));
    assert_eq!(open[0].answered_ms, None);
}

#[test]
fn a_contact_arrived_entry_without_trunk_reads_as_no_trunk() {
    let old = r#"{"kind":"contact_arrived","contact":1,"caller":"c","dnis":"100","media":"audio"}"#;
    let entry: Entry = serde_json::from_str(old).unwrap();
    assert!(matches!(entry, Entry::ContactArrived { trunk: None, .. }));
    let json = serde_json::to_string(&entry).unwrap();
    assert!(!json.contains("trunk"), "{json}");
}
