//! Per-queue service figures over a rolling window (issue 6, "the
//! supervisor view: queues (waiting, longest wait, service level,
//! abandoned) … with charts over the last hour"): one bucket per minute, at
//! most [`WINDOW_MINUTES`] kept, counting contacts offered to the queue,
//! answered (within the service-level threshold or not), abandoned (after
//! the short-abandon threshold or not) and the most contacts waiting in the
//! minute. Pure: every call takes `now`; minutes count from the first
//! `now` the window saw.
//!
//! Service level (docs/api.md "Queues"): answered within the threshold ÷
//! (answered + abandoned after the threshold), over the window; short
//! abandons (under `short_abandon`) count in neither and are reported
//! apart. `None` while the denominator is zero.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Minutes kept (and served by the history endpoint at most).
pub const WINDOW_MINUTES: u64 = 60;
const MINUTE: Duration = Duration::from_secs(60);

/// What one window counts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Thresholds {
    /// Answered within this wait counts toward the service level.
    pub service_level: Duration,
    /// Abandoned within this wait is a short abandon: not counted against
    /// the queue.
    pub short_abandon: Duration,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            service_level: Duration::from_secs(20),
            short_abandon: Duration::from_secs(5),
        }
    }
}

/// Counts of one minute, or summed over the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub offered: u64,
    pub answered: u64,
    /// Answered within the service-level threshold.
    pub answered_in_sl: u64,
    /// Left without an agent after `short_abandon` (hung up, timed out or
    /// taken out of the queue by the IVR).
    pub abandoned: u64,
    /// Abandoned after the service-level threshold (part of `abandoned`).
    pub abandoned_late: u64,
    /// Left within `short_abandon`; not in `abandoned`.
    pub short_abandoned: u64,
    /// Wait of the answered contacts, summed (ms).
    pub answer_wait_ms: u64,
}

impl Counts {
    /// Service level in percent (see the module doc); `None` with no
    /// contact answered or abandoned late.
    pub fn service_level_pct(&self) -> Option<f64> {
        let base = self.answered.saturating_add(self.abandoned_late);
        (base > 0).then(|| 100.0 * self.answered_in_sl as f64 / base as f64)
    }

    /// Mean wait of the answered contacts.
    pub fn avg_answer_wait(&self) -> Option<Duration> {
        (self.answered > 0).then(|| Duration::from_millis(self.answer_wait_ms / self.answered))
    }

    fn add(&mut self, o: &Counts) {
        self.offered = self.offered.saturating_add(o.offered);
        self.answered = self.answered.saturating_add(o.answered);
        self.answered_in_sl = self.answered_in_sl.saturating_add(o.answered_in_sl);
        self.abandoned = self.abandoned.saturating_add(o.abandoned);
        self.abandoned_late = self.abandoned_late.saturating_add(o.abandoned_late);
        self.short_abandoned = self.short_abandoned.saturating_add(o.short_abandoned);
        self.answer_wait_ms = self.answer_wait_ms.saturating_add(o.answer_wait_ms);
    }
}

/// One minute of the history, as served to charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Minute {
    /// When the minute began.
    pub start: Instant,
    pub counts: Counts,
    /// Most contacts waiting at any sample in the minute (the last known
    /// figure for a minute without samples).
    pub waiting: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Bucket {
    minute: u64,
    counts: Counts,
    waiting_max: usize,
    waiting_last: usize,
}

/// One queue's rolling window. At most [`WINDOW_MINUTES`] buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueWindow {
    origin: Instant,
    thresholds: Thresholds,
    buckets: VecDeque<Bucket>,
    /// Waiting at the end of the last bucket dropped off the window.
    carried_waiting: usize,
}

impl QueueWindow {
    /// An empty window whose minute 0 starts at `origin`.
    pub fn new(origin: Instant, thresholds: Thresholds) -> Self {
        QueueWindow {
            origin,
            thresholds,
            buckets: VecDeque::new(),
            carried_waiting: 0,
        }
    }

    /// A contact joined the queue.
    pub fn offered(&mut self, now: Instant) {
        self.bucket(now).counts.offered += 1;
    }

    /// An agent answered a contact that waited `wait`.
    pub fn answered(&mut self, now: Instant, wait: Duration) {
        let in_sl = wait <= self.thresholds.service_level;
        let c = &mut self.bucket(now).counts;
        c.answered += 1;
        c.answered_in_sl += u64::from(in_sl);
        let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
        c.answer_wait_ms = c.answer_wait_ms.saturating_add(ms);
    }

    /// A contact left without an agent after waiting `wait`.
    pub fn abandoned(&mut self, now: Instant, wait: Duration) {
        let t = self.thresholds;
        let c = &mut self.bucket(now).counts;
        if wait < t.short_abandon {
            c.short_abandoned += 1;
            return;
        }
        c.abandoned += 1;
        c.abandoned_late += u64::from(wait > t.service_level);
    }

    /// `waiting` contacts wait now.
    pub fn sample_waiting(&mut self, now: Instant, waiting: usize) {
        let b = self.bucket(now);
        b.waiting_max = b.waiting_max.max(waiting);
        b.waiting_last = waiting;
    }

    /// Counts summed over the window ending at `now`.
    pub fn totals(&self, now: Instant) -> Counts {
        let first = self.minute_of(now).saturating_sub(WINDOW_MINUTES - 1);
        let mut sum = Counts::default();
        for b in self.buckets.iter().filter(|b| b.minute >= first) {
            sum.add(&b.counts);
        }
        sum
    }

    /// The last `minutes` minutes (at most [`WINDOW_MINUTES`]) ending with
    /// the current one, oldest first, every minute present; none before
    /// the window's origin.
    pub fn history(&self, now: Instant, minutes: u64) -> Vec<Minute> {
        let current = self.minute_of(now);
        let first = current.saturating_sub(minutes.clamp(1, WINDOW_MINUTES) - 1);
        let mut waiting = self
            .buckets
            .iter()
            .take_while(|b| b.minute < first)
            .last()
            .map_or(self.carried_waiting, |b| b.waiting_last);
        let mut stored = self
            .buckets
            .iter()
            .skip_while(|b| b.minute < first)
            .peekable();
        (first..=current)
            .map(|m| {
                let (counts, peak) = match stored.next_if(|b| b.minute == m) {
                    Some(b) => {
                        let peak = b.waiting_max;
                        waiting = b.waiting_last;
                        (b.counts, peak)
                    }
                    None => (Counts::default(), waiting),
                };
                Minute {
                    start: self.start_of(m),
                    counts,
                    waiting: peak,
                }
            })
            .collect()
    }

    fn minute_of(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.origin).as_secs() / MINUTE.as_secs()
    }

    fn start_of(&self, minute: u64) -> Instant {
        let offset = MINUTE.saturating_mul(u32::try_from(minute).unwrap_or(u32::MAX));
        self.origin.checked_add(offset).unwrap_or(self.origin)
    }

    /// The current minute's bucket, rolling older ones off the window.
    fn bucket(&mut self, now: Instant) -> &mut Bucket {
        let minute = self.minute_of(now);
        let first = minute.saturating_sub(WINDOW_MINUTES - 1);
        while let Some(old) = self.buckets.front().filter(|b| b.minute < first) {
            self.carried_waiting = old.waiting_last;
            self.buckets.pop_front();
        }
        let last_waiting = self
            .buckets
            .back()
            .map_or(self.carried_waiting, |b| b.waiting_last);
        if self.buckets.back().is_none_or(|b| b.minute < minute) {
            self.buckets.push_back(Bucket {
                minute,
                counts: Counts::default(),
                waiting_max: last_waiting,
                waiting_last: last_waiting,
            });
        }
        let i = self.buckets.len() - 1;
        &mut self.buckets[i]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    fn window(t0: Instant) -> QueueWindow {
        QueueWindow::new(t0, Thresholds::default()) // SL 20 s, short 5 s
    }

    #[test]
    fn service_level_is_answered_in_threshold_over_answered_plus_late_abandons() {
        let t0 = Instant::now();
        let mut w = window(t0);
        for _ in 0..6 {
            w.offered(t0);
        }
        w.answered(t0 + S(10), S(10)); // in SL
        w.answered(t0 + S(20), S(20)); // in SL: the threshold itself counts
        w.answered(t0 + S(30), S(30)); // late
        w.abandoned(t0 + S(3), S(3)); // short: ignored by SL and abandoned
        w.abandoned(t0 + S(8), S(8)); // abandoned before the threshold
        w.abandoned(t0 + S(40), S(40)); // abandoned late
        let c = w.totals(t0 + S(50));
        assert_eq!((c.offered, c.answered, c.answered_in_sl), (6, 3, 2));
        assert_eq!(
            (c.abandoned, c.abandoned_late, c.short_abandoned),
            (2, 1, 1)
        );
        assert_eq!(c.service_level_pct(), Some(50.0), "2 / (3 + 1)");
        assert_eq!(c.avg_answer_wait(), Some(S(20)));
    }

    #[test]
    fn nothing_answered_or_late_means_no_service_level() {
        let t0 = Instant::now();
        let mut w = window(t0);
        w.offered(t0);
        w.abandoned(t0 + S(6), S(6));
        let c = w.totals(t0 + S(6));
        assert_eq!(c.abandoned, 1);
        assert_eq!(c.service_level_pct(), None);
        assert_eq!(c.avg_answer_wait(), None);
    }

    #[test]
    fn counts_older_than_an_hour_roll_off() {
        let t0 = Instant::now();
        let mut w = window(t0);
        w.offered(t0 + S(30)); // minute 0
        w.offered(t0 + S(61 * 60)); // minute 61
        assert_eq!(w.totals(t0 + S(59 * 60)).offered, 1, "minute 0 still in");
        assert_eq!(w.totals(t0 + S(61 * 60)).offered, 1, "minute 0 gone");
        assert_eq!(w.totals(t0 + S(200 * 60)).offered, 0, "all gone");
        assert!(w.buckets.len() <= WINDOW_MINUTES as usize);
        for m in 0..500 {
            w.offered(t0 + S(m * 60));
        }
        assert_eq!(w.buckets.len(), WINDOW_MINUTES as usize, "bounded");
    }

    #[test]
    fn history_has_every_minute_with_waiting_carried_through_quiet_ones() {
        let t0 = Instant::now();
        let mut w = window(t0);
        w.sample_waiting(t0 + S(5), 2);
        w.sample_waiting(t0 + S(20), 4);
        w.sample_waiting(t0 + S(50), 3); // minute 0: peak 4, ends at 3
        w.offered(t0 + S(3 * 60 + 1)); // minute 3
        w.sample_waiting(t0 + S(3 * 60 + 2), 1);
        let h = w.history(t0 + S(4 * 60 + 10), 60);
        let waiting: Vec<usize> = h.iter().map(|m| m.waiting).collect();
        assert_eq!(waiting, vec![4, 3, 3, 3, 1], "minutes 0..=4");
        let offered: Vec<u64> = h.iter().map(|m| m.counts.offered).collect();
        assert_eq!(offered, vec![0, 0, 0, 1, 0]);
        assert_eq!(h[3].start, t0 + S(180));
        let last2 = w.history(t0 + S(4 * 60 + 10), 2);
        assert_eq!(last2.len(), 2);
        assert_eq!((last2[0].start, last2[0].waiting), (t0 + S(180), 3));
    }

    #[test]
    fn history_after_roll_off_starts_from_the_carried_waiting() {
        let t0 = Instant::now();
        let mut w = window(t0);
        w.sample_waiting(t0, 7); // minute 0, rolls off later
        w.offered(t0 + S(100 * 60)); // minute 100: window is 41..=100
        let h = w.history(t0 + S(100 * 60), 60);
        assert_eq!(h.len(), 60);
        assert_eq!(h[0].start, t0 + S(41 * 60));
        assert!(h.iter().all(|m| m.waiting == 7), "nothing changed it");
        assert_eq!(h[59].counts.offered, 1);
    }
}
