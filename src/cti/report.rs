//! What the CTI reports about waiting (issue 6: "estimated wait time and
//! position per contact, exposed to the IVR, the API and the desktop"): a
//! waiting contact's place in line with its estimated wait, and per-queue
//! figures (waiting, longest wait, EWT of a newcomer, agents free and busy,
//! AHT). Read-only views over the core's tables; `now` is injected.
//!
//! Service figures (issue 6, the supervisor view): [`ServiceReport`] watches
//! each input's contact before and after ([`outcome`]) and counts offered,
//! answered and abandoned contacts into a per-queue [`QueueWindow`] (one
//! hour in one-minute buckets, `window.rs`), sampling waiting counts; the
//! totals join [`QueueStats`] and the minutes serve the history charts.

use super::agent::AgentStatus;
use super::contact::ContactPhase;
use super::events::Input;
use super::stats::estimated_wait;
use super::timers::Timer;
use super::types::{ContactId, QueueName, Skill};
use super::window::{Counts, Minute, QueueWindow, Thresholds};
use super::Cti;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A waiting contact's place in line (1-based) and estimated wait (`None`
/// when no agent who could serve it is available).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitEstimate {
    pub position: usize,
    pub ewt: Option<Duration>,
}

/// One queue's live figures (for `GET /api/queues`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStats {
    pub name: QueueName,
    pub waiting: usize,
    /// How long the longest-waiting contact has waited.
    pub longest_wait: Duration,
    /// The estimated wait of a contact joining now (like the next in
    /// line's skills; no skills asked when the queue is empty).
    pub ewt: Option<Duration>,
    /// Available, idle agents who could serve the next in line.
    pub agents_free: usize,
    /// Agents reserved for, ringing for or talking to a contact of this queue.
    pub agents_busy: usize,
    pub aht: Duration,
    /// Offered, answered and abandoned over the last hour.
    pub window: Counts,
    /// The queue's service-level threshold.
    pub service_level: Duration,
}

impl Cti {
    /// Position and estimated wait of a waiting contact; `None` unless it
    /// is waiting. EWT = position × the queue's AHT / the Available agents
    /// (any state) holding the contact's skills.
    pub fn wait_estimate(&self, id: ContactId) -> Option<WaitEstimate> {
        let c = self.contacts.get(&id)?;
        let req = c.request.as_ref()?;
        if !matches!(c.phase, ContactPhase::Queued(_)) {
            return None;
        }
        let queue = self.queues.get(&req.queue)?;
        let position = queue.position(id)?;
        let agents = self.agents_able(&req.skills);
        let ewt = estimated_wait(position, queue.handling().aht(), agents);
        Some(WaitEstimate { position, ewt })
    }

    /// Every configured queue's figures at `now`, by name.
    pub fn queue_stats(&self, now: Instant) -> Vec<QueueStats> {
        let mut busy: BTreeMap<&QueueName, usize> = BTreeMap::new();
        for c in self.contacts.values() {
            if let (Some(_), Some(req)) = (c.phase.agent(), &c.request) {
                *busy.entry(&req.queue).or_default() += 1;
            }
        }
        self.queues
            .iter()
            .map(|(name, q)| {
                let head = q.waiting().next().and_then(|(_, c)| self.contacts.get(c));
                let head_req = head.and_then(|c| c.request.as_ref());
                let none = BTreeMap::new();
                let skills = head_req.map_or(&none, |r| &r.skills);
                let longest_wait = q
                    .waiting()
                    .filter_map(|(_, c)| self.contacts.get(c)?.request.as_ref())
                    .map(|r| now.saturating_duration_since(r.since))
                    .max()
                    .unwrap_or_default();
                let aht = q.handling().aht();
                QueueStats {
                    name: name.clone(),
                    waiting: q.len(),
                    longest_wait,
                    ewt: estimated_wait(q.len() + 1, aht, self.agents_able(skills)),
                    agents_free: self
                        .agents
                        .values()
                        .filter(|a| a.is_free() && a.has_skills(skills))
                        .count(),
                    agents_busy: busy.get(name).copied().unwrap_or(0),
                    aht,
                    window: self.report.counts(now, name),
                    service_level: self.report.thresholds(name).service_level,
                }
            })
            .collect()
    }

    /// Agents who could serve a contact asking for `skills`: Available
    /// (whatever they are doing now) and skilled enough.
    fn agents_able(&self, skills: &BTreeMap<Skill, u8>) -> usize {
        self.agents
            .values()
            .filter(|a| a.status == AgentStatus::Available && a.has_skills(skills))
            .count()
    }
}

/// What the service figures are counted with: the short-abandon threshold
/// (`[cti] short_abandon_s`) and each queue's service-level threshold
/// (`[[queue]] service_level_s`; [`Thresholds::default`] for others).
#[derive(Debug, Clone, Default)]
pub struct ServiceReport {
    short_abandon: Option<Duration>,
    service_level: BTreeMap<QueueName, Duration>,
    /// One window per configured queue, made at the first `now` seen.
    windows: BTreeMap<QueueName, QueueWindow>,
}

/// A contact as seen before and after one input, to tell what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Probe {
    contact: ContactId,
    phase: &'static str,
    queue: Option<QueueName>,
    since: Option<Instant>,
}

/// What one input did to a contact, for the service figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Offered,
    Answered { wait: Duration },
    Abandoned { wait: Duration },
}

/// Compares a contact before and after (`None`: removed) one input.
/// Offered: it gained a request; answered: Diverting → Connected;
/// abandoned: Queued or Diverting → gone or back in Routing.
pub(super) fn outcome(
    now: Instant,
    before: &Probe,
    after: Option<&Probe>,
) -> Option<(QueueName, Outcome)> {
    let waited = |since: Option<Instant>| now.saturating_duration_since(since.unwrap_or(now));
    let waiting = matches!(before.phase, "Queued" | "Diverting");
    match after {
        Some(a) if before.queue.is_none() => Some((a.queue.clone()?, Outcome::Offered)),
        Some(a) if before.phase == "Diverting" && a.phase == "Connected" => {
            let wait = waited(a.since);
            Some((a.queue.clone()?, Outcome::Answered { wait }))
        }
        Some(a) if waiting && a.phase == "Routing" => {
            let wait = waited(before.since);
            Some((before.queue.clone()?, Outcome::Abandoned { wait }))
        }
        None if waiting => {
            let wait = waited(before.since);
            Some((before.queue.clone()?, Outcome::Abandoned { wait }))
        }
        _ => None,
    }
}

impl ServiceReport {
    /// Thresholds: `short_abandon` for every queue, `service_level` per queue.
    pub fn new(short_abandon: Duration, service_level: BTreeMap<QueueName, Duration>) -> Self {
        ServiceReport {
            short_abandon: Some(short_abandon),
            service_level,
            windows: BTreeMap::new(),
        }
    }

    fn thresholds(&self, queue: &QueueName) -> Thresholds {
        let d = Thresholds::default();
        Thresholds {
            service_level: self
                .service_level
                .get(queue)
                .copied()
                .unwrap_or(d.service_level),
            short_abandon: self.short_abandon.unwrap_or(d.short_abandon),
        }
    }

    fn window(&mut self, now: Instant, queue: &QueueName) -> &mut QueueWindow {
        let t = self.thresholds(queue);
        self.windows
            .entry(queue.clone())
            .or_insert_with(|| QueueWindow::new(now, t))
    }

    pub(super) fn record(&mut self, now: Instant, queue: &QueueName, what: Outcome) {
        let w = self.window(now, queue);
        match what {
            Outcome::Offered => w.offered(now),
            Outcome::Answered { wait } => w.answered(now, wait),
            Outcome::Abandoned { wait } => w.abandoned(now, wait),
        }
    }

    pub(super) fn sample(&mut self, now: Instant, queue: &QueueName, waiting: usize) {
        self.window(now, queue).sample_waiting(now, waiting);
    }

    fn counts(&self, now: Instant, queue: &QueueName) -> Counts {
        self.windows
            .get(queue)
            .map(|w| w.totals(now))
            .unwrap_or_default()
    }
}

/// One queue's last minutes (for `GET /api/stats/history`).
#[derive(Debug, Clone, PartialEq)]
pub struct QueueHistory {
    pub name: QueueName,
    pub service_level: Duration,
    pub minutes: Vec<Minute>,
}

impl Cti {
    /// Replaces the service-level and short-abandon thresholds (before any
    /// contact arrives; counts so far are dropped).
    pub fn with_service_report(mut self, report: ServiceReport) -> Self {
        self.report = report;
        self
    }

    /// Each configured queue's last `minutes` minutes (at most an hour).
    pub fn stats_history(&self, now: Instant, minutes: u64) -> Vec<QueueHistory> {
        self.queues
            .keys()
            .map(|name| QueueHistory {
                name: name.clone(),
                service_level: self.report.thresholds(name).service_level,
                minutes: self
                    .report
                    .windows
                    .get(name)
                    .map(|w| w.history(now, minutes))
                    .unwrap_or_default(),
            })
            .collect()
    }

    /// The contact `input` or `timer` concerns, as it is now.
    pub(super) fn probe(&self, contact: Option<ContactId>) -> Option<Probe> {
        let c = self.contacts.get(&contact?)?;
        let req = c.request.as_ref();
        Some(Probe {
            contact: c.id,
            phase: c.phase.name(),
            queue: req.map(|r| r.queue.clone()),
            since: req.map(|r| r.since),
        })
    }

    /// Counts what the last input did to the probed contact, then samples
    /// every queue's waiting count.
    pub(super) fn observe(&mut self, now: Instant, before: Option<Probe>) {
        if let Some(before) = before {
            let after = self.probe(Some(before.contact));
            if let Some((queue, what)) = outcome(now, &before, after.as_ref()) {
                self.report.record(now, &queue, what);
            }
        }
        for (name, q) in &self.queues {
            self.report.sample(now, name, q.len());
        }
    }
}

/// The contact an input is about (`None` for agent inputs).
pub(super) fn input_contact(input: &Input) -> Option<ContactId> {
    match input {
        Input::RequestAgent { contact, .. }
        | Input::LeaveQueue { contact }
        | Input::AgentAnswered { contact }
        | Input::ConnectionCleared { contact, .. } => Some(*contact),
        _ => None,
    }
}

/// The contact a timer is about (`None` for agent timers).
pub(super) fn timer_contact(timer: &Timer) -> Option<ContactId> {
    match timer {
        Timer::QueueTimeout(c) => Some(*c),
        _ => None,
    }
}
