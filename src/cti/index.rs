//! The routing index (issue 6, "routing speed"): what `routing` needs to
//! make one decision without sorting every waiting contact or scanning every
//! agent. Waiting contacts are kept in *lines*, one per channel and required
//! skill map, each ordered by [`QueueKey`] (priority, then arrival; keys are
//! unique across queues); agents able to take a contact of a channel
//! ([`Agent::can_take`]) are kept per channel and held skill in the order
//! of each strategy (`strategy`): by idle-since, by answered count, by id. Pure data: the `Cti` tells it every change (`sync_agent`,
//! `line_insert`, `line_remove`) and it remembers which agents turned free
//! and which lines gained a contact since the last routing pass, so a pass
//! only looks at lines those can serve.

use super::agent::Agent;
use super::config::{Capacity, RoutingStrategy};
use super::queue::QueueKey;
use super::types::{AgentId, Channel, ContactId, Skill};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::time::Instant;

/// A request's required skills with minimum levels: names a line.
pub(super) type SkillSet = BTreeMap<Skill, u8>;

/// A waiting line: contacts of one channel asking for the same skills.
pub(super) type LineKey = (Channel, SkillSet);

/// The engine's agents, by id.
pub(super) type Agents = BTreeMap<AgentId, Agent>;

/// Free agents in the three strategy orders.
#[derive(Debug, Clone, Default)]
struct FreeSet {
    by_idle: BTreeSet<(Instant, AgentId)>,
    by_handled: BTreeSet<(u64, Instant, AgentId)>,
    by_id: BTreeSet<AgentId>,
}

impl FreeSet {
    fn insert(&mut self, id: &AgentId, e: &FreeEntry) {
        self.by_idle.insert((e.idle_since, id.clone()));
        self.by_handled
            .insert((e.handled, e.idle_since, id.clone()));
        self.by_id.insert(id.clone());
    }

    fn remove(&mut self, id: &AgentId, e: &FreeEntry) {
        self.by_idle.remove(&(e.idle_since, id.clone()));
        self.by_handled
            .remove(&(e.handled, e.idle_since, id.clone()));
        self.by_id.remove(id);
    }

    fn len(&self) -> usize {
        self.by_id.len()
    }

    /// The first agent in `strategy`'s order that `fits`; `last` is
    /// round-robin's cursor (the next id after it, wrapping).
    fn pick(
        &self,
        strategy: RoutingStrategy,
        last: Option<&AgentId>,
        fits: impl Fn(&AgentId) -> bool,
    ) -> Option<&AgentId> {
        match strategy {
            RoutingStrategy::LongestIdle => self.by_idle.iter().map(|(_, a)| a).find(|a| fits(a)),
            RoutingStrategy::FewestContacts => {
                self.by_handled.iter().map(|(_, _, a)| a).find(|a| fits(a))
            }
            RoutingStrategy::RoundRobin => {
                let after = last.map_or(Bound::Unbounded, Bound::Excluded);
                let mut next = self.by_id.range((after, Bound::Unbounded));
                next.find(|a| fits(a))
                    .or_else(|| self.by_id.iter().find(|a| fits(a)))
            }
        }
    }
}

/// What a free agent is indexed under (kept to remove it again).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FreeEntry {
    /// The channels the agent can take a contact of now (never empty).
    channels: Vec<Channel>,
    /// With levels: a level change must mark the agent dirty.
    skills: Vec<(Skill, u8)>,
    idle_since: Instant,
    handled: u64,
}

impl FreeEntry {
    fn of(a: &Agent, cap: &Capacity, mixed: bool) -> Option<Self> {
        let channels: Vec<Channel> = Channel::ALL
            .into_iter()
            .filter(|c| a.can_take(*c, cap, mixed))
            .collect();
        if channels.is_empty() {
            return None;
        }
        Some(FreeEntry {
            channels,
            skills: a.skills.iter().map(|(s, l)| (s.clone(), *l)).collect(),
            idle_since: a.idle_since,
            handled: a.handled,
        })
    }

    /// Whether the agent may now serve something it could not before.
    fn widens(&self, old: Option<&FreeEntry>) -> bool {
        old.is_none_or(|o| {
            o.skills != self.skills || self.channels.iter().any(|c| !o.channels.contains(c))
        })
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct RouteIndex {
    /// Waiting contacts by line, next to serve first.
    lines: BTreeMap<LineKey, BTreeMap<QueueKey, ContactId>>,
    /// Skill → the non-empty lines requiring it.
    lines_by_skill: BTreeMap<Skill, BTreeSet<LineKey>>,
    /// Agents able to take a contact, per channel and per (channel, skill).
    free_all: BTreeMap<Channel, FreeSet>,
    free_by_skill: BTreeMap<(Channel, Skill), FreeSet>,
    entries: BTreeMap<AgentId, FreeEntry>,
    /// Agents that may serve more than at the last pass.
    dirty_agents: BTreeSet<AgentId>,
    /// Lines that gained a contact since the last pass.
    dirty_lines: BTreeSet<LineKey>,
}

impl RouteIndex {
    /// Re-files agent `id` after any change; `agent` is `None` once it is gone.
    pub(super) fn sync_agent(
        &mut self,
        id: &AgentId,
        agent: Option<&Agent>,
        cap: &Capacity,
        mixed: bool,
    ) {
        let new = agent.and_then(|a| FreeEntry::of(a, cap, mixed));
        if self.entries.get(id) == new.as_ref() {
            return;
        }
        let old = self.entries.remove(id);
        if let Some(old) = &old {
            self.unfile(id, old);
        }
        let Some(new) = new else { return };
        for ch in &new.channels {
            self.free_all.entry(*ch).or_default().insert(id, &new);
            for (s, _) in &new.skills {
                let key = (*ch, s.clone());
                self.free_by_skill.entry(key).or_default().insert(id, &new);
            }
        }
        if new.widens(old.as_ref()) {
            self.dirty_agents.insert(id.clone());
        }
        self.entries.insert(id.clone(), new);
    }

    fn unfile(&mut self, id: &AgentId, old: &FreeEntry) {
        for ch in &old.channels {
            if let Some(f) = self.free_all.get_mut(ch) {
                f.remove(id, old);
            }
            for (s, _) in &old.skills {
                let key = (*ch, s.clone());
                let empty = self.free_by_skill.get_mut(&key).map(|f| {
                    f.remove(id, old);
                    f.len() == 0
                });
                if empty == Some(true) {
                    self.free_by_skill.remove(&key);
                }
            }
        }
    }

    pub(super) fn line_insert(&mut self, line: &LineKey, key: QueueKey, contact: ContactId) {
        let waiting = self.lines.entry(line.clone()).or_default();
        if waiting.is_empty() {
            for s in line.1.keys() {
                let by = self.lines_by_skill.entry(s.clone()).or_default();
                by.insert(line.clone());
            }
        }
        waiting.insert(key, contact);
        self.dirty_lines.insert(line.clone());
    }

    pub(super) fn line_remove(&mut self, line: &LineKey, key: &QueueKey) {
        let Some(waiting) = self.lines.get_mut(line) else {
            return;
        };
        waiting.remove(key);
        if !waiting.is_empty() {
            return;
        }
        self.lines.remove(line);
        for s in line.1.keys() {
            let by = self.lines_by_skill.get_mut(s);
            let empty = by.map(|b| {
                b.remove(line);
                b.is_empty()
            });
            if empty == Some(true) {
                self.lines_by_skill.remove(s);
            }
        }
    }

    /// The next contact of a line.
    pub(super) fn head(&self, line: &LineKey) -> Option<(QueueKey, ContactId)> {
        let (k, c) = self.lines.get(line)?.first_key_value()?;
        Some((*k, *c))
    }

    /// Agents able to take a contact of some channel.
    pub(super) fn free_count(&self) -> usize {
        self.entries.len()
    }

    /// The lines worth trying in this pass, emptying the dirty sets: those
    /// that gained a contact, and those a newly free agent can serve. Any
    /// other line was tried against every other free agent before.
    pub(super) fn take_candidates(&mut self, agents: &Agents) -> BTreeSet<LineKey> {
        let mut out = std::mem::take(&mut self.dirty_lines);
        out.retain(|l| self.lines.contains_key(l));
        for id in std::mem::take(&mut self.dirty_agents) {
            let (Some(a), Some(e)) = (agents.get(&id), self.entries.get(&id)) else {
                continue;
            };
            let mut served = a.skills.keys().filter_map(|s| self.lines_by_skill.get(s));
            let lines = served.by_ref().flatten();
            let lines = lines.filter(|l| e.channels.contains(&l.0) && a.has_skills(&l.1));
            out.extend(lines.cloned());
            for ch in &e.channels {
                let bare = (*ch, SkillSet::new());
                if self.lines.contains_key(&bare) {
                    out.insert(bare);
                }
            }
        }
        out
    }

    /// The agent `strategy` picks for a contact of `line`: walks the
    /// agents able to take its channel holding its rarest required skill,
    /// in the strategy's order, and takes the first holding every level.
    pub(super) fn pick(
        &self,
        strategy: RoutingStrategy,
        line: &LineKey,
        last: Option<&AgentId>,
        agents: &Agents,
    ) -> Option<AgentId> {
        let (channel, skills) = line;
        let set = if skills.is_empty() {
            self.free_all.get(channel)?
        } else {
            let mut sets = skills
                .keys()
                .map(|s| self.free_by_skill.get(&(*channel, s.clone())));
            let sets: Option<Vec<&FreeSet>> = sets.by_ref().collect();
            sets?.into_iter().min_by_key(|f| f.len())?
        };
        let fits = |id: &AgentId| agents.get(id).is_some_and(|a| a.has_skills(skills));
        set.pick(strategy, last, fits).cloned()
    }
}
