//! Agent selection strategies per queue (issue 6: "strategies longest-idle,
//! round-robin, fewest-contacts"): among the agents that are Available, Idle
//! and hold every skill the contact asks for at the level asked, the queue's
//! [`RoutingStrategy`] picks one. Ties always fall to the smallest agent id, so the
//! choice is deterministic. The walk itself runs over the routing index
//! (`index`); `pick` below is the plain scan it is tested against.

#[cfg(test)]
use super::agent::Agent;
#[cfg(test)]
use super::config::RoutingStrategy;
use super::index::LineKey;
use super::types::{AgentId, QueueName};
use super::Cti;

impl Cti {
    /// The agent `queue`'s strategy offers a contact of `line` (its channel
    /// and the skills it asks for), among those able to take it.
    pub(super) fn pick_agent(&self, queue: &QueueName, line: &LineKey) -> Option<AgentId> {
        let strategy = self
            .cfg
            .queues
            .get(queue)
            .map(|q| q.strategy)
            .unwrap_or_default();
        let last = self.queues.get(queue).and_then(|q| q.last_offered.as_ref());
        #[cfg(test)]
        if self.scan_routing {
            let (cap, mixed) = (&self.cfg.capacity, self.cfg.chat_during_voice);
            let free = self
                .agents
                .values()
                .filter(|a| a.can_take(line.0, cap, mixed) && a.has_skills(&line.1));
            return pick(strategy, free, last).map(|a| a.id.clone());
        }
        self.index.pick(strategy, line, last, &self.agents)
    }
}

/// The strategy's choice among `free` (in ascending id order); `last` is the
/// agent the queue offered to last (round-robin's cursor). The reference
/// the index's walk (`index`) must agree with.
#[cfg(test)]
fn pick<'a>(
    strategy: RoutingStrategy,
    mut free: impl Iterator<Item = &'a Agent>,
    last: Option<&AgentId>,
) -> Option<&'a Agent> {
    let idle_then_id =
        |a: &&Agent, b: &&Agent| a.idle_since.cmp(&b.idle_since).then(a.id.cmp(&b.id));
    match strategy {
        RoutingStrategy::LongestIdle => free.min_by(idle_then_id),
        RoutingStrategy::FewestContacts => {
            free.min_by(|a, b| a.handled.cmp(&b.handled).then(idle_then_id(a, b)))
        }
        RoutingStrategy::RoundRobin => {
            let first = free.next()?;
            let Some(last) = last else {
                return Some(first);
            };
            if &first.id > last {
                return Some(first);
            }
            Some(free.find(|a| &a.id > last).unwrap_or(first))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    fn agents(t0: Instant, spec: &[(&str, u64, u64)]) -> Vec<Agent> {
        spec.iter()
            .map(|(id, idle_s, handled)| {
                let at = t0 + Duration::from_secs(*idle_s);
                let mut a = Agent::new(AgentId::from(*id), String::new(), BTreeMap::new(), at);
                a.handled = *handled;
                a
            })
            .collect()
    }

    fn chosen(strategy: RoutingStrategy, all: &[Agent], last: Option<&str>) -> Option<String> {
        let last = last.map(AgentId::from);
        pick(strategy, all.iter(), last.as_ref()).map(|a| a.id.0.clone())
    }

    #[test]
    fn longest_idle_takes_the_oldest_idle_since_ties_to_smallest_id() {
        let t0 = Instant::now();
        let all = agents(t0, &[("a", 5, 0), ("b", 2, 9), ("c", 2, 0)]);
        assert_eq!(
            chosen(RoutingStrategy::LongestIdle, &all, None),
            Some("b".into())
        );
    }

    #[test]
    fn fewest_contacts_then_longest_idle_then_id() {
        let t0 = Instant::now();
        let all = agents(t0, &[("a", 1, 3), ("b", 9, 1), ("c", 4, 1), ("d", 4, 1)]);
        assert_eq!(
            chosen(RoutingStrategy::FewestContacts, &all, None),
            Some("c".into())
        );
    }

    #[test]
    fn round_robin_moves_past_the_last_offered_and_wraps() {
        let t0 = Instant::now();
        let all = agents(t0, &[("a", 0, 0), ("c", 0, 0), ("e", 0, 0)]);
        let rr = |last| chosen(RoutingStrategy::RoundRobin, &all, last);
        assert_eq!(rr(None), Some("a".into()));
        assert_eq!(rr(Some("a")), Some("c".into()));
        assert_eq!(rr(Some("b")), Some("c".into()), "last one no longer free");
        assert_eq!(rr(Some("c")), Some("e".into()));
        assert_eq!(rr(Some("e")), Some("a".into()), "wraps");
        assert_eq!(chosen(RoutingStrategy::RoundRobin, &[], Some("a")), None);
    }
}
