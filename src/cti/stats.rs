//! Queue statistics for estimated wait time (issue 6, "estimated wait time
//! and position per contact"): each queue keeps its average handling time
//! (AHT, talk + wrap-up of finished contacts) as an exponentially weighted
//! moving average seeded by the queue's configured `default_aht`, and the
//! estimated wait (EWT) of a waiting contact is its place in line times the
//! AHT, shared among the agents who could serve it. Pure arithmetic.

use std::time::Duration;

/// Weight of a new sample: the average moves 1/`EWMA_WEIGHT` of the way
/// toward it, so the figure follows the last ~`EWMA_WEIGHT` contacts.
pub const EWMA_WEIGHT: u64 = 8;

/// A queue's average handling time, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandlingTime {
    aht_ms: u64,
    samples: u64,
}

impl HandlingTime {
    /// Starts at `seed` (the configured `default_aht`) with no samples.
    pub fn seeded(seed: Duration) -> Self {
        HandlingTime {
            aht_ms: millis(seed),
            samples: 0,
        }
    }

    /// One finished contact: talk plus wrap-up.
    pub fn record(&mut self, handled: Duration) {
        let sample = millis(handled);
        let w = EWMA_WEIGHT;
        // (aht * (w - 1) + sample) / w, without overflow for any u64 pair.
        self.aht_ms = (u128::from(self.aht_ms) * u128::from(w - 1) + u128::from(sample))
            .checked_div(u128::from(w))
            .and_then(|v| u64::try_from(v).ok())
            .unwrap_or(u64::MAX);
        self.samples = self.samples.saturating_add(1);
    }

    pub fn aht(&self) -> Duration {
        Duration::from_millis(self.aht_ms)
    }

    /// Finished contacts counted so far.
    pub fn samples(&self) -> u64 {
        self.samples
    }
}

/// The estimated wait of the contact at 1-based `position` when `agents`
/// agents could serve it and each contact takes `aht`: `position × aht /
/// agents`. `None` when no agent could serve it (the wait is unbounded).
pub fn estimated_wait(position: usize, aht: Duration, agents: usize) -> Option<Duration> {
    if agents == 0 {
        return None;
    }
    let ms = u128::from(millis(aht)) * position as u128 / agents as u128;
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)))
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn seed_holds_until_contacts_finish_then_moves_an_eighth_toward_each() {
        let mut h = HandlingTime::seeded(S(120));
        assert_eq!((h.aht(), h.samples()), (S(120), 0));
        h.record(S(200));
        assert_eq!(h.aht(), S(130), "120 + (200 - 120) / 8");
        h.record(S(10));
        assert_eq!(h.aht(), S(115), "130 - (130 - 10) / 8");
        assert_eq!(h.samples(), 2);
    }

    #[test]
    fn many_samples_converge_on_the_new_handling_time() {
        let mut h = HandlingTime::seeded(S(600));
        for _ in 0..100 {
            h.record(S(60));
        }
        let aht = h.aht().as_secs_f64();
        assert!((60.0..61.0).contains(&aht), "{aht}");
    }

    #[test]
    fn huge_samples_saturate_instead_of_overflowing() {
        let mut h = HandlingTime::seeded(Duration::MAX);
        h.record(Duration::MAX);
        assert!(h.aht() >= S(u64::MAX / 1000 - 1));
    }

    #[test]
    fn ewt_is_position_times_aht_over_agents_and_none_without_agents() {
        assert_eq!(estimated_wait(1, S(120), 1), Some(S(120)));
        assert_eq!(estimated_wait(3, S(120), 2), Some(S(180)));
        assert_eq!(estimated_wait(4, S(60), 8), Some(S(30)));
        assert_eq!(estimated_wait(5, S(60), 0), None);
    }
}
