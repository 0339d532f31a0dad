//! The engine task: the single owner of all SIP, CTI and call state. It is
//! the only place that reads the clock; it passes `now` and `wall_ms` into
//! the pure engine and carries out the [`Action`]s it emits — sending SIP,
//! persisting bindings and CDRs, publishing CSTA events, updating the HTTP
//! snapshots and talking to the IVR over interface B.

use super::wall_ms;
use crate::acd::{Action, Engine, IvrToCti};
use crate::b2bua::CtiToIvr;
use crate::cdr::Cdr;
use crate::events::EventBus;
use crate::http::{AgentCommand, AgentView};
use crate::registrar::{Binding, BindingChange, RegisterEvent};
use crate::sip::{HeaderView, Message};
use crate::telemetry::{self, Direction, RegisterResult};
use crate::transport::{Inbound, Outbound};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Longest wait for in-flight transactions during shutdown.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Coarse tick for wall-clock work (binding expiry, gauges).
const TICK: Duration = Duration::from_secs(1);

/// Everything the engine task talks to.
pub struct EngineIo {
    pub inbound: mpsc::Receiver<Inbound>,
    pub outbound: Outbound,
    pub store: mpsc::Sender<Vec<BindingChange>>,
    pub cdrs: mpsc::Sender<Cdr>,
    /// The CTI journal writer (`crate::journal::writer`).
    pub journal: mpsc::Sender<crate::journal::JournalOp>,
    pub bindings: Arc<RwLock<Vec<Binding>>>,
    pub agents: Arc<RwLock<Vec<AgentView>>>,
    pub queues: Arc<RwLock<Vec<crate::http::QueueView>>>,
    pub history: Arc<RwLock<Vec<crate::http::QueueHistoryView>>>,
    pub agent_commands: mpsc::Receiver<AgentCommand>,
    pub events: EventBus,
    pub from_ivr: mpsc::Receiver<IvrToCti>,
    pub to_ivr: mpsc::Sender<CtiToIvr>,
    pub drain: watch::Receiver<bool>,
}

pub async fn run(mut engine: Engine, mut io: EngineIo) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    engine.sync_auto_ready(Instant::now(), wall_ms());
    publish_agents(&engine, &io.agents);
    let mut queues_at = Instant::now();
    *io.queues.write().unwrap_or_else(|p| p.into_inner()) = engine.queue_views(queues_at);
    loop {
        let wake = engine
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + TICK);
        tokio::select! {
            m = io.inbound.recv() => match m {
                Some(Inbound { msg, peer }) => {
                    count_in(&msg);
                    let span = tracing::info_span!("sip", call_id = msg.call_id().unwrap_or("-"));
                    let _e = span.enter();
                    engine.handle_received(Instant::now(), wall_ms(), msg, peer);
                }
                None => break,
            },
            Some(cmd) = io.agent_commands.recv() => {
                let r = engine.agent_command(Instant::now(), wall_ms(), &cmd.agent, cmd.op);
                let _ = cmd.reply.send(r);
            }
            Some(msg) = io.from_ivr.recv() => engine.handle_ivr(Instant::now(), wall_ms(), msg),
            _ = tokio::time::sleep_until(wake) => engine.handle_timeout(Instant::now(), wall_ms()),
            _ = tick.tick() => engine.handle_timeout(Instant::now(), wall_ms()),
            r = io.drain.changed(), if drain_deadline.is_none() => {
                if r.is_ok() {
                    engine.begin_shutdown();
                    engine.end_calls(Instant::now(), wall_ms());
                }
                drain_deadline = Some(tokio::time::Instant::now() + DRAIN_LIMIT);
            }
        }
        let changed = perform_actions(&mut engine, &io).await;
        if changed.bindings {
            let snapshot: Vec<Binding> = engine.registrar().bindings().cloned().collect();
            telemetry::set_registrations(snapshot.len());
            *io.bindings.write().unwrap_or_else(|p| p.into_inner()) = snapshot;
        }
        if changed.agents {
            publish_agents(&engine, &io.agents);
        }
        if queues_at.elapsed() >= crate::http::QUEUES_EVERY {
            queues_at = Instant::now();
            let views = engine.queue_views(queues_at);
            *io.queues.write().unwrap_or_else(|p| p.into_inner()) = views;
            let history = engine.stats_history(queues_at, wall_ms());
            *io.history.write().unwrap_or_else(|p| p.into_inner()) = history;
        }
        telemetry::set_sip_transactions(engine.transactions());
        if let Some(deadline) = drain_deadline {
            if engine.in_flight() == 0 || tokio::time::Instant::now() >= deadline {
                tracing::info!(
                    in_flight = engine.in_flight(),
                    calls = engine.live_calls(),
                    "engine drained"
                );
                engine.finish_shutdown();
                perform_actions(&mut engine, &io).await;
                break;
            }
        }
    }
}

fn publish_agents(engine: &Engine, agents: &Arc<RwLock<Vec<AgentView>>>) {
    *agents.write().unwrap_or_else(|p| p.into_inner()) = engine.agent_views();
}

#[derive(Default)]
struct Changed {
    bindings: bool,
    agents: bool,
}

async fn perform_actions(engine: &mut Engine, io: &EngineIo) -> Changed {
    let mut changed = Changed::default();
    while let Some(action) = engine.poll_action() {
        match action {
            Action::Transmit { peer, msg } => {
                count_out(&msg);
                if let Err(e) = io.outbound.send(&peer, msg.to_bytes()).await {
                    tracing::info!(error = %e, "send failed");
                }
            }
            Action::Persist(changes) => {
                changed.bindings = true;
                changed.agents = true;
                if io.store.send(changes).await.is_err() {
                    tracing::error!("store writer is gone: registrations not persisted");
                }
            }
            Action::Registration(event) => log_registration(&event),
            Action::Csta(ev) => {
                if let Err(e) = io.events.publish_at(wall_ms(), &ev) {
                    tracing::warn!(error = %e, "event not published");
                }
            }
            Action::AgentState(out) => {
                changed.agents = true;
                if let Err(e) = io.events.publish_cti(wall_ms(), &out) {
                    tracing::warn!(error = %e, "agent event not published");
                }
            }
            Action::ToIvr(msg) => {
                if io.to_ivr.try_send(msg).is_err() {
                    tracing::warn!("IVR link full or gone: interface-B message dropped");
                }
            }
            Action::WriteCdr(cdr) => {
                if io.cdrs.try_send(cdr).is_err() {
                    tracing::error!("CDR writer full or gone: record dropped");
                }
            }
            Action::Journal(op) => journal(io, op),
        }
    }
    changed
}

/// Hands a journal operation to its writer without waiting: a full queue
/// drops it, counted in `softacd_journal_dropped_total` and logged
/// (ARCHITECTURE.md "CTI journal").
fn journal(io: &EngineIo, op: crate::journal::JournalOp) {
    if let Err(e) = io.journal.try_send(op) {
        metrics::counter!(JOURNAL_DROPPED_TOTAL).increment(1);
        let why = match e {
            mpsc::error::TrySendError::Full(_) => "full",
            mpsc::error::TrySendError::Closed(_) => "gone",
        };
        tracing::error!(why, "CTI journal writer {why}: entry dropped");
    }
}

/// Journal operations the engine could not hand to the writer.
pub const JOURNAL_DROPPED_TOTAL: &str = "softacd_journal_dropped_total";

fn log_registration(event: &RegisterEvent) {
    let result = match event {
        RegisterEvent::Challenged { .. } => RegisterResult::Challenged,
        RegisterEvent::Registered { .. }
        | RegisterEvent::Unregistered { .. }
        | RegisterEvent::Queried { .. } => {
            tracing::info!(?event, "registration");
            RegisterResult::Ok
        }
        RegisterEvent::AuthFailed { user } => {
            tracing::warn!(user = %user, "REGISTER authentication failed");
            RegisterResult::Failed
        }
        RegisterEvent::Rejected { code, why } => {
            tracing::info!(code, why = %why, "REGISTER rejected");
            RegisterResult::Rejected
        }
    };
    telemetry::count_register(result);
}

fn count_in(msg: &Message) {
    count(msg, Direction::In)
}

fn count_out(msg: &Message) {
    count(msg, Direction::Out)
}

fn count(msg: &Message, direction: Direction) {
    match msg {
        Message::Request(r) => telemetry::count_sip_request(r.method.as_str(), direction),
        Message::Response(r) => {
            let method = r
                .cseq()
                .map(|c| c.method.as_str().to_string())
                .unwrap_or_else(|_| "-".into());
            telemetry::count_sip_response(r.code, &method, direction)
        }
    }
}
