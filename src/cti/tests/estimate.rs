//! Estimated wait (issue 6): position × AHT / agents able to serve, the AHT
//! moving with finished contacts (talk + wrap-up), and the per-queue figures
//! behind `GET /api/queues`. Time is injected.

use super::*;

fn answer(cti: &mut Cti, now: Instant, id: u64) {
    let contact = ContactId(id);
    step(cti, now, Input::AgentAnswered { contact });
}

fn clear(cti: &mut Cti, now: Instant, id: u64) {
    let input = Input::ConnectionCleared {
        contact: ContactId(id),
        cause: ClearCause::NormalClearing,
    };
    step(cti, now, input);
}

fn ewt_s(cti: &Cti, id: u64) -> Option<(usize, Option<u64>)> {
    let w = cti.wait_estimate(ContactId(id))?;
    Some((w.position, w.ewt.map(|d| d.as_secs())))
}

fn stats(cti: &Cti, now: Instant, queue: &str) -> QueueStats {
    let all = cti.queue_stats(now);
    all.into_iter()
        .find(|s| s.name.0 == queue)
        .expect("configured queue")
}

#[test]
fn ewt_is_position_times_the_seeded_aht_over_available_skilled_agents() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg()); // sales: default AHT 180 s
    sign_in(&mut cti, t0, "busy", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0); // busy takes 1
    queue_call(&mut cti, t0, 2, 0);
    queue_call(&mut cti, t0, 3, 0);
    assert_eq!(ewt_s(&cti, 1), None, "diverting, not waiting");
    assert_eq!(ewt_s(&cti, 2), Some((1, Some(180))));
    assert_eq!(ewt_s(&cti, 3), Some((2, Some(360))));
    // a second sales agent takes 2; two agents now share the line
    let out = sign_in(&mut cti, t0, "b", &[("sales", 1), ("fr", 2)]);
    assert_eq!(diverts(&out), vec![(2, "b".into())]);
    assert_eq!(ewt_s(&cti, 3), Some((1, Some(90))));
    // an agent going on break (after this call) no longer counts
    let brk = Input::SetNotReady {
        agent: AgentId::from("b"),
        reason: "lunch".into(),
    };
    step(&mut cti, t0, brk);
    assert_eq!(ewt_s(&cti, 3), Some((1, Some(180))));
}

#[test]
fn no_agent_able_to_serve_means_no_estimate() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    arrive(&mut cti, t0, 1);
    request(&mut cti, t0, 1, "sales", &[("sales", 9)], 0);
    assert_eq!(ewt_s(&cti, 1), Some((1, None)));
}

#[test]
fn finished_contacts_move_the_aht_by_talk_plus_wrap_up() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg()); // sales wrap-up 5 s, AHT seed 180 s
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0);
    answer(&mut cti, secs(t0, 2), 1);
    clear(&mut cti, secs(t0, 277), 1); // talk 275 + wrap-up 5 = 280
    let s = stats(&cti, secs(t0, 277), "sales");
    assert_eq!(
        s.aht,
        Duration::from_millis(192_500),
        "180 + (280 - 180) / 8"
    );
    // a contact cleared before an agent answered is not a handled one
    queue_call(&mut cti, secs(t0, 300), 2, 0);
    clear(&mut cti, secs(t0, 301), 2);
    assert_eq!(stats(&cti, secs(t0, 301), "sales").aht.as_millis(), 192_500);
}

#[test]
fn queue_figures_count_waiting_longest_wait_and_agents_free_and_busy() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    sign_in(&mut cti, t0, "v", &[("vip", 1)]);
    queue_call(&mut cti, t0, 1, 0); // a takes it
    queue_call(&mut cti, secs(t0, 10), 2, 0);
    queue_call(&mut cti, secs(t0, 20), 3, 0);
    let s = stats(&cti, secs(t0, 50), "sales");
    assert_eq!(s.waiting, 2);
    assert_eq!(s.longest_wait, Duration::from_secs(40));
    assert_eq!((s.agents_free, s.agents_busy), (0, 1));
    assert_eq!(
        s.ewt,
        Some(Duration::from_secs(3 * 180)),
        "a newcomer is third"
    );
    let vip = stats(&cti, secs(t0, 50), "vip");
    assert_eq!((vip.waiting, vip.longest_wait), (0, Duration::ZERO));
    assert_eq!((vip.agents_free, vip.agents_busy), (2 - 1, 0), "v is free");
}
