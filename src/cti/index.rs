//! The routing index (issue 6, "routing speed"): what `routing` needs to
//! make one decision without sorting every waiting contact or scanning every
//! agent. Waiting contacts are kept in *lines*, one per required skill map,
//! each ordered by [`QueueKey`] (priority, then arrival; keys are unique
//! across queues); free agents (Available and Idle) are kept per held skill
//! in the order of each strategy (`strategy`): by idle-since, by answered
//! count, by id. Pure data: the `Cti` tells it every change (`sync_agent`,
//! `line_insert`, `line_remove`) and it remembers which agents turned free
//! and which lines gained a contact since the last routing pass, so a pass
//! only looks at lines those can serve.

use super::agent::Agent;
use super::config::RoutingStrategy;
use super::queue::QueueKey;
use super::types::{AgentId, ContactId, Skill};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;
use std::time::Instant;

/// A request's required skills with minimum levels: names a line.
pub(super) type SkillSet = BTreeMap<Skill, u8>;

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
    /// With levels: a level change must mark the agent dirty.
    skills: Vec<(Skill, u8)>,
    idle_since: Instant,
    handled: u64,
}

impl FreeEntry {
    fn of(a: &Agent) -> Self {
        FreeEntry {
            skills: a.skills.iter().map(|(s, l)| (s.clone(), *l)).collect(),
            idle_since: a.idle_since,
            handled: a.handled,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct RouteIndex {
    /// Waiting contacts by required skills, next to serve first.
    lines: BTreeMap<SkillSet, BTreeMap<QueueKey, ContactId>>,
    /// Skill → the non-empty lines requiring it.
    lines_by_skill: BTreeMap<Skill, BTreeSet<SkillSet>>,
    free_all: FreeSet,
    free_by_skill: BTreeMap<Skill, FreeSet>,
    entries: BTreeMap<AgentId, FreeEntry>,
    /// Agents that turned free (or changed while free) since the last pass.
    dirty_agents: BTreeSet<AgentId>,
    /// Lines that gained a contact since the last pass.
    dirty_lines: BTreeSet<SkillSet>,
}

impl RouteIndex {
    /// Re-files agent `id` after any change; `agent` is `None` once it is gone.
    pub(super) fn sync_agent(&mut self, id: &AgentId, agent: Option<&Agent>) {
        let new = agent.filter(|a| a.is_free()).map(FreeEntry::of);
        if self.entries.get(id) == new.as_ref() {
            return;
        }
        if let Some(old) = self.entries.remove(id) {
            self.free_all.remove(id, &old);
            for (s, _) in &old.skills {
                let set = self.free_by_skill.get_mut(s);
                let empty = set.map(|f| {
                    f.remove(id, &old);
                    f.len() == 0
                });
                if empty == Some(true) {
                    self.free_by_skill.remove(s);
                }
            }
        }
        let Some(new) = new else { return };
        self.free_all.insert(id, &new);
        for (s, _) in &new.skills {
            self.free_by_skill
                .entry(s.clone())
                .or_default()
                .insert(id, &new);
        }
        self.entries.insert(id.clone(), new);
        self.dirty_agents.insert(id.clone());
    }

    pub(super) fn line_insert(&mut self, skills: &SkillSet, key: QueueKey, contact: ContactId) {
        let line = self.lines.entry(skills.clone()).or_default();
        if line.is_empty() {
            for s in skills.keys() {
                let by = self.lines_by_skill.entry(s.clone()).or_default();
                by.insert(skills.clone());
            }
        }
        line.insert(key, contact);
        self.dirty_lines.insert(skills.clone());
    }

    pub(super) fn line_remove(&mut self, skills: &SkillSet, key: &QueueKey) {
        let Some(line) = self.lines.get_mut(skills) else {
            return;
        };
        line.remove(key);
        if !line.is_empty() {
            return;
        }
        self.lines.remove(skills);
        for s in skills.keys() {
            let by = self.lines_by_skill.get_mut(s);
            let empty = by.map(|b| {
                b.remove(skills);
                b.is_empty()
            });
            if empty == Some(true) {
                self.lines_by_skill.remove(s);
            }
        }
    }

    /// The next contact of a line.
    pub(super) fn head(&self, skills: &SkillSet) -> Option<(QueueKey, ContactId)> {
        let (k, c) = self.lines.get(skills)?.first_key_value()?;
        Some((*k, *c))
    }

    pub(super) fn free_count(&self) -> usize {
        self.free_all.len()
    }

    /// The lines worth trying in this pass, emptying the dirty sets: those
    /// that gained a contact, and those a newly free agent can serve. Any
    /// other line was tried against every other free agent before.
    pub(super) fn take_candidates(&mut self, agents: &Agents) -> BTreeSet<SkillSet> {
        let mut out = std::mem::take(&mut self.dirty_lines);
        out.retain(|s| self.lines.contains_key(s));
        for id in std::mem::take(&mut self.dirty_agents) {
            let Some(a) = agents.get(&id).filter(|a| a.is_free()) else {
                continue;
            };
            let mut served = a.skills.keys().filter_map(|s| self.lines_by_skill.get(s));
            let lines = served.by_ref().flatten().filter(|l| a.has_skills(l));
            out.extend(lines.cloned());
            if self.lines.contains_key(&SkillSet::new()) {
                out.insert(SkillSet::new());
            }
        }
        out
    }

    /// The free agent `strategy` picks for a contact needing `skills`:
    /// walks the free holders of its rarest required skill in the
    /// strategy's order and takes the first holding every level.
    pub(super) fn pick(
        &self,
        strategy: RoutingStrategy,
        skills: &SkillSet,
        last: Option<&AgentId>,
        agents: &Agents,
    ) -> Option<AgentId> {
        let set = if skills.is_empty() {
            &self.free_all
        } else {
            let mut sets = skills.keys().map(|s| self.free_by_skill.get(s));
            let sets: Option<Vec<&FreeSet>> = sets.by_ref().collect();
            sets?.into_iter().min_by_key(|f| f.len())?
        };
        let fits = |id: &AgentId| agents.get(id).is_some_and(|a| a.has_skills(skills));
        set.pick(strategy, last, fits).cloned()
    }
}
