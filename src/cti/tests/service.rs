//! Service figures (issue 6, the supervisor view): offered, answered within
//! and after the service-level threshold, short and real abandons, the
//! service level and the per-minute history, driven through the CTI's own
//! inputs and timers with injected time.

use super::*;

fn answer(cti: &mut Cti, now: Instant, id: u64) {
    step(
        cti,
        now,
        Input::AgentAnswered {
            contact: ContactId(id),
        },
    );
}

fn hang_up(cti: &mut Cti, now: Instant, id: u64) {
    let input = Input::ConnectionCleared {
        contact: ContactId(id),
        cause: ClearCause::NormalClearing,
    };
    step(cti, now, input);
}

fn window(cti: &Cti, now: Instant, queue: &str) -> Counts {
    let all = cti.queue_stats(now);
    all.into_iter()
        .find(|s| s.name.0 == queue)
        .map(|s| s.window)
        .expect("configured queue")
}

#[test]
fn answered_abandoned_short_and_timed_out_make_the_service_level() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg()); // sales: max wait 60 s, wrap-up 5 s; SL 20 s, short 5 s
    sign_in(&mut cti, t0, "a", &[("sales", 1)]);
    queue_call(&mut cti, t0, 1, 0); // diverted to a at once
    answer(&mut cti, secs(t0, 2), 1); // answered after 2 s: in SL
    queue_call(&mut cti, t0, 2, 0);
    hang_up(&mut cti, secs(t0, 3), 2); // short abandon
    queue_call(&mut cti, t0, 3, 0);
    hang_up(&mut cti, secs(t0, 30), 3); // abandoned after the threshold
    queue_call(&mut cti, secs(t0, 10), 4, 0);
    hang_up(&mut cti, secs(t0, 40), 1); // a wraps up until 45
    let out = tick(&mut cti, secs(t0, 45));
    assert_eq!(diverts(&out), vec![(4, "a".into())]);
    answer(&mut cti, secs(t0, 46), 4); // waited 36 s: answered late
    queue_call(&mut cti, secs(t0, 50), 5, 0);
    tick(&mut cti, secs(t0, 110)); // queue timeout: abandoned late
    assert_eq!(phase_of(&cti, 5), Some(ContactPhase::Routing));

    let c = window(&cti, secs(t0, 110), "sales");
    assert_eq!((c.offered, c.answered, c.answered_in_sl), (5, 2, 1));
    assert_eq!(
        (c.abandoned, c.abandoned_late, c.short_abandoned),
        (2, 2, 1)
    );
    assert_eq!(
        c.service_level_pct(),
        Some(25.0),
        "1 / (2 answered + 2 late)"
    );
    assert_eq!(c.avg_answer_wait(), Some(Duration::from_secs(19)));
    assert_eq!(window(&cti, secs(t0, 110), "vip"), Counts::default());
    // an hour later it has all rolled off
    assert_eq!(window(&cti, secs(t0, 3700), "sales"), Counts::default());
}

#[test]
fn history_puts_each_outcome_in_its_minute_and_samples_waiting() {
    let t0 = Instant::now();
    let mut cti = Cti::new(cfg());
    queue_call(&mut cti, t0, 1, 0); // nobody signed in: waits
    queue_call(&mut cti, secs(t0, 1), 2, 0);
    hang_up(&mut cti, secs(t0, 70), 1); // minute 1
    sign_in(&mut cti, secs(t0, 130), "a", &[("sales", 1)]); // minute 2: takes 2
    answer(&mut cti, secs(t0, 131), 2);
    let h = cti.stats_history(secs(t0, 150), 60);
    let sales = h.iter().find(|q| q.name.0 == "sales").expect("sales");
    assert_eq!(sales.service_level, Duration::from_secs(20));
    let row: Vec<(u64, u64, u64, usize)> = sales
        .minutes
        .iter()
        .map(|m| {
            (
                m.counts.offered,
                m.counts.abandoned,
                m.counts.answered,
                m.waiting,
            )
        })
        .collect();
    assert_eq!(row, vec![(2, 0, 0, 2), (0, 1, 0, 2), (0, 0, 1, 1)]);
    assert_eq!(sales.minutes[2].counts.service_level_pct(), Some(0.0));
}

#[test]
fn leaving_the_queue_is_an_abandon_and_thresholds_come_from_the_report() {
    let t0 = Instant::now();
    let levels = [(QueueName::from("sales"), Duration::from_secs(60))].into();
    let report = ServiceReport::new(Duration::ZERO, levels);
    let mut cti = Cti::new(cfg()).with_service_report(report);
    queue_call(&mut cti, t0, 1, 0);
    step(
        &mut cti,
        secs(t0, 1),
        Input::LeaveQueue {
            contact: ContactId(1),
        },
    );
    sign_in(&mut cti, secs(t0, 2), "a", &[("sales", 1)]);
    queue_call(&mut cti, secs(t0, 2), 2, 0);
    answer(&mut cti, secs(t0, 3), 2);
    let c = window(&cti, secs(t0, 3), "sales");
    assert_eq!(
        (c.abandoned, c.short_abandoned, c.abandoned_late),
        (1, 0, 0)
    );
    assert_eq!(c.service_level_pct(), Some(100.0));
    let stats = cti.queue_stats(secs(t0, 3));
    assert_eq!(stats[0].service_level, Duration::from_secs(60));
}
