//! Login throttling (issue 6, "bound login attempts"): after each failed
//! password for a user name the next attempt for that name must wait,
//! doubling from [`BASE_DELAY`] up to [`MAX_DELAY`]; a success clears it.
//! The table holds at most [`MAX_TRACKED`] names (the stalest dropped), so
//! guessing many names cannot grow it. Pure, with injected time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

pub const BASE_DELAY: Duration = Duration::from_millis(500);
pub const MAX_DELAY: Duration = Duration::from_secs(30);
pub const MAX_TRACKED: usize = 4096;

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    next_try: Instant,
}

/// Per-name backoff after failed logins.
#[derive(Debug, Clone, Default)]
pub struct Throttle {
    by_name: BTreeMap<String, Failures>,
}

impl Throttle {
    /// `Err(wait)` while `name` must still wait after failures.
    pub fn check(&self, now: Instant, name: &str) -> Result<(), Duration> {
        match self.by_name.get(name) {
            Some(f) if f.next_try > now => Err(f.next_try - now),
            _ => Ok(()),
        }
    }

    /// A failed attempt for `name` at `now`: the next waits longer.
    pub fn failed(&mut self, now: Instant, name: &str) {
        if !self.by_name.contains_key(name) && self.by_name.len() >= MAX_TRACKED {
            let stalest = self
                .by_name
                .iter()
                .min_by_key(|(_, f)| f.next_try)
                .map(|(k, _)| k.clone());
            if let Some(k) = stalest {
                self.by_name.remove(&k);
            }
        }
        let f = self.by_name.entry(name.to_owned()).or_insert(Failures {
            count: 0,
            next_try: now,
        });
        f.count = f.count.saturating_add(1);
        let delay = BASE_DELAY
            .saturating_mul(1u32 << f.count.saturating_sub(1).min(16))
            .min(MAX_DELAY);
        f.next_try = now.checked_add(delay).unwrap_or(now);
    }

    /// A successful login: `name` starts afresh.
    pub fn succeeded(&mut self, name: &str) {
        self.by_name.remove(name);
    }

    pub fn tracked(&self) -> usize {
        self.by_name.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: fn(u64) -> Duration = Duration::from_millis;

    #[test]
    fn each_failure_doubles_the_wait_up_to_the_cap_and_success_clears_it() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        assert_eq!(t.check(t0, "sue"), Ok(()));
        t.failed(t0, "sue");
        assert_eq!(t.check(t0, "sue"), Err(MS(500)));
        assert_eq!(t.check(t0 + MS(500), "sue"), Ok(()));
        t.failed(t0 + MS(500), "sue");
        assert_eq!(t.check(t0 + MS(500), "sue"), Err(MS(1000)));
        assert_eq!(t.check(t0, "bob"), Ok(()), "per name");
        for _ in 0..20 {
            t.failed(t0, "sue");
        }
        assert_eq!(t.check(t0, "sue"), Err(MAX_DELAY));
        t.succeeded("sue");
        assert_eq!(t.check(t0, "sue"), Ok(()));
    }

    #[test]
    fn many_names_stay_within_the_bound() {
        let t0 = Instant::now();
        let mut t = Throttle::default();
        for i in 0..(MAX_TRACKED + 100) {
            t.failed(t0 + MS(i as u64), &format!("user{i}"));
        }
        assert_eq!(t.tracked(), MAX_TRACKED);
        let last = format!("user{}", MAX_TRACKED + 99);
        assert!(t.check(t0, &last).is_err(), "the newest is still tracked");
    }
}
