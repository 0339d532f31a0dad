//! Per-channel capacity (issue 6: "per-channel capacity (e.g. voice 1, chat
//! 3, email 5)"; contacts of every channel wait in the same queues): an
//! agent holds up to N contacts per channel, one call (voice or video) at
//! most, calls and text contacts apart unless `chat_during_voice`; the
//! agent's state shows its call, `load` every contact. Injected time.

use super::*;

/// A text (or video) contact `id` asking sales≥1 in "sales".
fn text(cti: &mut Cti, now: Instant, id: u64, channel: Channel) -> Vec<Output> {
    let contact = ContactId(id);
    step(cti, now, Input::ContactArrived { contact, channel });
    request(cti, now, id, "sales", &[("sales", 1)], 0)
}

fn answer(cti: &mut Cti, now: Instant, id: u64) -> Vec<Output> {
    step(
        cti,
        now,
        Input::AgentAnswered {
            contact: ContactId(id),
        },
    )
}

fn clear(cti: &mut Cti, now: Instant, id: u64) -> Vec<Output> {
    let cause = ClearCause::NormalClearing;
    step(
        cti,
        now,
        Input::ConnectionCleared {
            contact: ContactId(id),
            cause,
        },
    )
}

fn load(cti: &Cti, agent: &str) -> BTreeMap<Channel, u32> {
    cti.agent(&AgentId::from(agent))
        .map(|a| a.load())
        .unwrap_or_default()
}

fn with(change: impl FnOnce(&mut CtiConfig)) -> Cti {
    let mut c = cfg();
    if let Some(q) = c.queues.get_mut(&QueueName::from("sales")) {
        q.max_size = 10;
    }
    change(&mut c);
    Cti::new(c)
}

#[test]
fn an_agent_takes_up_to_its_chat_capacity_and_stays_idle() {
    let t0 = Instant::now();
    let mut cti = with(|_| {});
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    let mut offered = Vec::new();
    for id in 1..=4 {
        offered.extend(diverts(&text(&mut cti, t0, id, Channel::Chat)));
    }
    let amy = |c| (c, "amy".to_owned());
    assert_eq!(offered, vec![amy(1), amy(2), amy(3)], "chat capacity 3");
    assert_eq!(queued(&cti, "sales"), vec![4]);
    assert_eq!(state_of(&cti, "amy"), Some(AgentState::Idle));
    answer(&mut cti, t0, 1);
    assert_eq!(load(&cti, "amy"), [(Channel::Chat, 3)].into());
    let out = clear(&mut cti, secs(t0, 30), 1);
    assert_eq!(
        diverts(&out),
        vec![amy(4)],
        "a freed slot takes the next chat"
    );
    assert_eq!(
        state_of(&cti, "amy"),
        Some(AgentState::Idle),
        "no wrap-up for chat"
    );
}

#[test]
fn capacities_count_per_channel_and_zero_means_never() {
    let t0 = Instant::now();
    let mut cti = with(|c| {
        c.capacity.email = 0;
        c.capacity.chat = 1;
    });
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    assert!(diverts(&text(&mut cti, t0, 1, Channel::Email)).is_empty());
    assert_eq!(diverts(&text(&mut cti, t0, 2, Channel::Chat)).len(), 1);
    assert_eq!(diverts(&text(&mut cti, t0, 3, Channel::Sms)).len(), 1);
    assert!(diverts(&text(&mut cti, t0, 4, Channel::Chat)).is_empty());
    assert_eq!(queued(&cti, "sales"), vec![1, 4]);
    assert_eq!(
        load(&cti, "amy"),
        [(Channel::Chat, 1), (Channel::Sms, 1)].into()
    );
}

#[test]
fn calls_and_chats_do_not_overlap_by_default() {
    let t0 = Instant::now();
    let mut cti = with(|_| {});
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    queue_call(&mut cti, t0, 1, 0);
    answer(&mut cti, t0, 1);
    assert!(
        diverts(&text(&mut cti, t0, 2, Channel::Chat)).is_empty(),
        "in a call"
    );
    assert!(
        diverts(&text(&mut cti, t0, 3, Channel::Video)).is_empty(),
        "one call"
    );
    clear(&mut cti, secs(t0, 10), 1);
    assert_eq!(state_of(&cti, "amy"), Some(AgentState::WrapUp));
    let out = tick(&mut cti, secs(t0, 15));
    assert_eq!(
        diverts(&out),
        vec![(2, "amy".to_owned())],
        "the chat came first"
    );
    assert_eq!(
        queued(&cti, "sales"),
        vec![3],
        "no video call beside the chat"
    );
}

#[test]
fn an_agent_holding_chats_gets_no_call_by_default() {
    let t0 = Instant::now();
    let mut cti = with(|_| {});
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    text(&mut cti, t0, 1, Channel::Chat);
    assert!(diverts(&queue_call(&mut cti, t0, 2, 9)).is_empty());
    let out = clear(&mut cti, t0, 1);
    assert_eq!(diverts(&out), vec![(2, "amy".to_owned())]);
    assert_eq!(
        state_of(&cti, "amy"),
        Some(AgentState::Reserved {
            contact: ContactId(2)
        })
    );
}

#[test]
fn chat_during_voice_lets_chats_in_beside_a_call() {
    let t0 = Instant::now();
    let mut cti = with(|c| c.chat_during_voice = true);
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    queue_call(&mut cti, t0, 1, 0);
    answer(&mut cti, t0, 1);
    assert_eq!(diverts(&text(&mut cti, t0, 2, Channel::Chat)).len(), 1);
    answer(&mut cti, t0, 2);
    let amy = cti
        .agent(&AgentId::from("amy"))
        .map(|a| (a.state.clone(), a.load()));
    let want = [(Channel::Voice, 1), (Channel::Chat, 1)].into();
    assert_eq!(
        amy,
        Some((
            AgentState::InCall {
                contact: ContactId(1)
            },
            want
        ))
    );
    clear(&mut cti, t0, 2);
    assert_eq!(
        state_of(&cti, "amy"),
        Some(AgentState::InCall {
            contact: ContactId(1)
        })
    );
}

#[test]
fn a_rejected_chat_goes_back_to_the_head_and_counts_a_miss() {
    let t0 = Instant::now();
    let mut cti = with(|c| c.capacity.chat = 2);
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    sign_in(&mut cti, secs(t0, 1), "bob", &[("sales", 5)]);
    text(&mut cti, t0, 1, Channel::Chat);
    text(&mut cti, t0, 2, Channel::Chat);
    let out = step(
        &mut cti,
        t0,
        Input::AgentRejected {
            contact: ContactId(1),
        },
    );
    let missed = cti.agent(&AgentId::from("amy")).map(|a| a.missed);
    assert_eq!(missed, Some(1));
    assert_eq!(
        diverts(&out).len(),
        1,
        "offered again, to whoever idled longest"
    );
}

#[test]
fn sign_out_waits_for_the_last_chat() {
    let t0 = Instant::now();
    let mut cti = with(|_| {});
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    text(&mut cti, t0, 1, Channel::Email);
    answer(&mut cti, t0, 1);
    step(
        &mut cti,
        t0,
        Input::SignOut {
            agent: AgentId::from("amy"),
        },
    );
    assert_eq!(status_of(&cti, "amy"), Some(AgentStatus::LoggedOut));
    let out = clear(&mut cti, t0, 1);
    assert_eq!(status_of(&cti, "amy"), None, "gone with its last contact");
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::AgentStateChanged { .. })));
}

#[test]
fn fewest_contacts_counts_answered_chats() {
    let t0 = Instant::now();
    let mut cti = with(|c| {
        if let Some(q) = c.queues.get_mut(&QueueName::from("sales")) {
            q.strategy = RoutingStrategy::FewestContacts;
        }
    });
    sign_in(&mut cti, t0, "amy", &[("sales", 5)]);
    sign_in(&mut cti, secs(t0, 1), "bob", &[("sales", 5)]);
    text(&mut cti, t0, 1, Channel::Chat);
    answer(&mut cti, t0, 1);
    let out = text(&mut cti, t0, 2, Channel::Chat);
    assert_eq!(
        diverts(&out),
        vec![(2, "bob".to_owned())],
        "amy answered one"
    );
}
