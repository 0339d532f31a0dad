//! The server shell (mini-redis style): `run` takes a loaded config, a
//! shutdown future and a callback told where everything listens. It loads
//! prompts and IVR scripts (refusing to start on a bad one, with file:line),
//! binds the sockets, restores registrations from SQLite, and runs the
//! transport readers, the single engine task (`engine_task`), the embedded
//! IVR/MS (`ivr_link`), the IVR flow watcher (`flow_watch`), the store,
//! CDR and CTI journal writers, and the HTTP server. On start the CTI
//! journal is replayed: agents sign in again, contacts the previous process
//! died under are closed, their legs get a BYE (`crate::journal`).
//! Graceful shutdown: new INVITEs get 503, in-flight transactions finish
//! (bounded wait), then readers stop and the stores flush and close.

mod engine_task;
mod flow_watch;
mod ivr_link;
mod relay_ports;

pub use engine_task::DRAIN_LIMIT;

use crate::acd::trunks::TrunkMatcher;
use crate::acd::{Engine, EngineConfig, MediaPorts, NoRelay, SeatPolicy};
use crate::b2bua::MediaMode;
use crate::cdr::{Cdr, CdrStore};
use crate::config::{Config, MediaModeConfig, NoAgentsPolicy, RecordingMode, StrategyConfig};
use crate::cti::journal::Entry;
use crate::cti::{
    Cti, CtiConfig, Escalation, NoAgents, QueueConfig, QueueName, RoutingStrategy, TrunkRoutes,
};
use crate::events::{EventBus, EVENT_CAPACITY};
use crate::http::{self, AgentCommand, HttpState};
use crate::journal::{self, writer::JOURNAL_QUEUE, JournalOp, JournalStore};
use crate::media::recording::{Layout, RecordingPolicy, Recordings};
use crate::registrar::digest::Algorithm;
use crate::registrar::{BindingChange, BindingStore, Registrar, RegistrarConfig};
use crate::sip::transaction::TimerConfig;
use crate::sip::{Peer, TransportKind, Uri};
use crate::transport::{self, ConnTable, Inbound, Outbound, INBOUND_QUEUE};
use metrics_exporter_prometheus::PrometheusHandle;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// Binding changes waiting to be written.
const STORE_QUEUE: usize = 1024;
/// CDRs waiting to be written.
const CDR_QUEUE: usize = 4096;
/// Longest wait at shutdown for recordings to be finished on disk.
const RECORDING_FINISH_LIMIT: Duration = Duration::from_secs(5);
/// Most concurrent calls (each holds up to three legs).
const MAX_CALLS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("data dir {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("database {path}: {cause}")]
    Store { path: PathBuf, cause: String },
    #[error(transparent)]
    Transport(#[from] transport::TransportError),
    #[error("http listen {addr}: {source}")]
    HttpBind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("random source: {0}")]
    Random(String),
    #[error("prompts in {path}: {cause}")]
    Prompts { path: PathBuf, cause: String },
    #[error("recordings dir {path}: {source}")]
    RecordingsDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("IVR scripts refused:\n{0}")]
    Scripts(String),
}

/// Where the server ended up listening (ports may have been 0 in the config).
#[derive(Debug, Clone)]
pub struct Listening {
    pub udp: Vec<SocketAddr>,
    pub tcp: Vec<SocketAddr>,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    pub database: PathBuf,
}

pub fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

fn random_bytes<const N: usize>() -> Result<[u8; N], ServerError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| ServerError::Random(e.to_string()))?;
    Ok(b)
}

pub fn registrar_config(cfg: &Config) -> RegistrarConfig {
    RegistrarConfig {
        realm: cfg.registrar.realm.clone(),
        domain: Some(cfg.sip.domain.clone()),
        users: cfg
            .seat
            .iter()
            .map(|s| (s.user.clone(), s.password.clone()))
            .collect(),
        min_expires: cfg.registrar.min_expires,
        max_expires: cfg.registrar.max_expires,
        default_expires: cfg.registrar.default_expires,
        nonce_ttl: Duration::from_secs(cfg.registrar.nonce_ttl_s),
        max_bindings_per_aor: cfg.registrar.max_bindings_per_aor,
        algorithms: cfg
            .registrar
            .digest_algorithms
            .iter()
            .filter_map(|a| Algorithm::from_token(a))
            .collect(),
    }
}

/// The service-level and short-abandon thresholds of `[cti]` and `[[queue]]`.
pub fn service_report(cfg: &Config) -> crate::cti::ServiceReport {
    let levels = cfg
        .queue
        .iter()
        .map(|q| {
            (
                QueueName(q.name.clone()),
                Duration::from_secs(q.service_level_s),
            )
        })
        .collect();
    crate::cti::ServiceReport::new(Duration::from_secs(cfg.cti.short_abandon_s), levels)
}

/// The CTI's policy from `[cti]`, `[[queue]]`, `[[service]]` and `[[trunk]]`.
pub fn cti_config(cfg: &Config) -> CtiConfig {
    let queues = cfg
        .queue
        .iter()
        .map(|q| {
            (
                QueueName(q.name.clone()),
                QueueConfig {
                    max_size: q.max_size,
                    max_wait: (q.max_wait_s > 0).then(|| Duration::from_secs(q.max_wait_s)),
                    wrap_up: Duration::from_secs(q.wrap_up_s),
                    no_agents: match q.no_agents {
                        NoAgentsPolicy::Wait => NoAgents::Wait,
                        NoAgentsPolicy::Reject => NoAgents::Reject,
                    },
                    default_aht: Duration::from_secs(q.default_aht_s),
                    strategy: match q.strategy {
                        StrategyConfig::LongestIdle => RoutingStrategy::LongestIdle,
                        StrategyConfig::RoundRobin => RoutingStrategy::RoundRobin,
                        StrategyConfig::FewestContacts => RoutingStrategy::FewestContacts,
                    },
                    escalate: q
                        .escalate
                        .iter()
                        .map(|e| Escalation {
                            after: Duration::from_secs(e.after_s),
                            min_level: e.min_level,
                            queue: e.queue.clone().map(QueueName),
                        })
                        .collect(),
                },
            )
        })
        .collect();
    CtiConfig {
        dnis_scripts: cfg
            .service
            .iter()
            .map(|s| (s.number.clone(), s.script.clone()))
            .collect(),
        trunks: cfg
            .trunk
            .iter()
            .map(|t| {
                let routes = TrunkRoutes {
                    services: t.services.clone(),
                    script: t.script.clone(),
                };
                (t.name.clone(), routes)
            })
            .collect(),
        queues,
        ring_timeout: Duration::from_secs(cfg.cti.ring_timeout_s),
        max_no_answer: cfg.cti.max_no_answer,
        capacity: cti_capacity(&cfg.cti.capacity),
        chat_during_voice: cfg.cti.chat_during_voice,
        max_callbacks: cfg.cti.max_callbacks,
        callback_max_age: Duration::from_secs(cfg.cti.callback_max_age_s),
        ..CtiConfig::default()
    }
}

fn cti_capacity(c: &crate::config::CapacitySection) -> crate::cti::Capacity {
    crate::cti::Capacity {
        voice: c.voice,
        video: c.video,
        chat: c.chat,
        email: c.email,
        sms: c.sms,
    }
}

/// The embedded IVR's address on the in-process transport (a label: no
/// socket is bound to it).
pub fn ivr_peer() -> Peer {
    Peer {
        transport: TransportKind::Local,
        addr: SocketAddr::from(([127, 0, 0, 1], 5070)),
        conn: None,
    }
}

fn engine_config(cfg: &Config, listening: &Listening) -> EngineConfig {
    let level = cfg.cti.seat_skill_level;
    EngineConfig {
        user_agent: cfg.sip.user_agent.clone(),
        timers: TimerConfig {
            t1: cfg.sip.timers.t1(),
            t2: cfg.sip.timers.t2(),
            t4: cfg.sip.timers.t4(),
        },
        max_transactions: cfg.sip.max_transactions,
        domain: cfg.sip.domain.clone(),
        local_udp: listening.udp.first().copied(),
        local_tcp: listening.tcp.first().copied(),
        media_mode: match cfg.media.mode {
            MediaModeConfig::Relay => MediaMode::Relay,
            MediaModeConfig::Direct => MediaMode::Direct,
        },
        ivr_uri: Uri::sip(Some("ivr"), "ivr.local", None),
        ivr_peer: ivr_peer(),
        max_calls: MAX_CALLS,
        transfer_allow: cfg.ivr.transfer_allow.clone(),
        leg_probe: (cfg.sip.leg_probe_s > 0).then(|| Duration::from_secs(cfg.sip.leg_probe_s)),
        trunks: TrunkMatcher::new(cfg.trunk.iter().map(|t| (t.name.as_str(), &t.sources[..]))),
        callback: crate::acd::CallbackPolicy {
            trunk: cfg.cti.callback_trunk.clone(),
            retries: cfg.cti.callback_retries,
            retry: Duration::from_secs(cfg.cti.callback_retry_s),
            ring: Duration::from_secs(cfg.cti.callback_ring_s),
        },
        seats: cfg
            .seat
            .iter()
            .map(|s| {
                let skills: BTreeMap<String, u8> =
                    s.skills.iter().map(|k| (k.clone(), level)).collect();
                (
                    s.user.clone(),
                    SeatPolicy {
                        skills,
                        auto_ready: s.auto_ready,
                    },
                )
            })
            .collect(),
    }
}

/// The lower half of the RTP range is the relay's, the upper the IVR's.
fn split_ports(cfg: &Config) -> ((u16, u16), (u16, u16)) {
    let (lo, hi) = (cfg.media.rtp_port_min, cfg.media.rtp_port_max);
    let mid = lo + (hi - lo) / 2;
    ((lo, mid), (mid + 1, hi))
}

/// Run until `shutdown` resolves, then drain and return.
pub async fn run(
    cfg: Config,
    metrics: Option<PrometheusHandle>,
    shutdown: impl Future<Output = ()>,
    on_ready: impl FnOnce(&Listening),
) -> Result<(), ServerError> {
    let data_dir = absolute(&cfg.storage.data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|source| ServerError::DataDir {
        path: data_dir.clone(),
        source,
    })?;
    let scripts_listing = flow_watch::listing(&cfg.ivr.scripts_dir);
    let ivr_assets = ivr_link::load_assets(&cfg, &data_dir)?;
    let flows = ivr_assets.flows.clone();
    let db_path = data_dir.join(&cfg.storage.database);
    let store_err = |e: String| ServerError::Store {
        path: db_path.clone(),
        cause: e,
    };
    let store = BindingStore::open(&db_path)
        .await
        .map_err(|e| store_err(e.to_string()))?;
    let restored = store
        .load_all()
        .await
        .map_err(|e| store_err(e.to_string()))?;
    let cdrs = CdrStore::new(store.pool().clone())
        .await
        .map_err(|e| store_err(e.to_string()))?;
    let journal_store = JournalStore::new(store.pool().clone())
        .await
        .map_err(|e| store_err(e.to_string()))?;
    let recovered = recover(&journal_store, &cdrs)
        .await
        .map_err(|e| store_err(e.to_string()))?;
    let mut registrar = Registrar::new(registrar_config(&cfg), random_bytes::<32>()?);
    registrar.restore(restored, wall_ms());

    // Sockets.
    let (stop_tx, stop_rx) = watch::channel(false);
    let (inbound_tx, inbound_rx) = mpsc::channel::<Inbound>(INBOUND_QUEUE);
    let mut udp_socks = Vec::new();
    for addr in &cfg.sip.udp {
        udp_socks.push(transport::udp::bind(*addr).await?);
    }
    let mut tcp_listeners = Vec::new();
    for addr in &cfg.sip.tcp {
        tcp_listeners.push(transport::tcp::bind(*addr).await?);
    }
    let http_listener = tokio::net::TcpListener::bind(cfg.http.listen)
        .await
        .map_err(|source| ServerError::HttpBind {
            addr: cfg.http.listen,
            source,
        })?;
    let listening = Listening {
        udp: udp_socks
            .iter()
            .filter_map(|s| s.local_addr().ok())
            .collect(),
        tcp: tcp_listeners
            .iter()
            .filter_map(|l| l.local_addr().ok())
            .collect(),
        http: http_listener
            .local_addr()
            .map_err(|source| ServerError::HttpBind {
                addr: cfg.http.listen,
                source,
            })?,
        data_dir: data_dir.clone(),
        database: db_path.clone(),
    };

    let conns = Arc::new(ConnTable::default());
    let mut readers = Vec::new();
    for sock in &udp_socks {
        readers.push(tokio::spawn(transport::udp::run_reader(
            sock.clone(),
            inbound_tx.clone(),
            stop_rx.clone(),
        )));
    }
    for l in tcp_listeners {
        readers.push(tokio::spawn(transport::tcp::run_acceptor(
            l,
            conns.clone(),
            inbound_tx.clone(),
            stop_rx.clone(),
        )));
    }

    // IVR flows go live again on file change (and on POST /api/ivr/reload).
    let watcher = flow_watch::spawn(
        cfg.ivr.scripts_dir.clone(),
        scripts_listing,
        flows.clone(),
        stop_rx.clone(),
    );

    // The embedded IVR/MS, reached over the in-process transport.
    let (relay_range, ivr_range) = split_ports(&cfg);
    let ivr = ivr_link::start(
        &cfg,
        ivr_assets,
        ivr_range,
        inbound_tx.clone(),
        stop_rx.clone(),
    );
    let outbound = Outbound {
        udp: udp_socks,
        tcp: conns,
        tcp_inbound: inbound_tx.clone(),
        local: Some(ivr.sip_to_ivr.clone()),
    };
    drop(inbound_tx);

    let recordings = Recordings::default();
    let media: Box<dyn MediaPorts> = match cfg.media.mode {
        MediaModeConfig::Relay => Box::new(relay_ports::RelayPorts::new(
            cfg.media.rtp_ip,
            relay_range,
            recordings.clone(),
            recording_policy(&cfg, &data_dir)?,
        )),
        MediaModeConfig::Direct => Box::new(NoRelay),
    };
    let last_contact = cdrs
        .max_contact_id()
        .await
        .map_err(|e| store_err(e.to_string()))?;
    let mut engine = Engine::new(
        engine_config(&cfg, &listening),
        registrar,
        Cti::new(cti_config(&cfg)).with_service_report(service_report(&cfg)),
        media,
        u64::from_le_bytes(random_bytes::<8>()?),
    );
    engine.resume_contact_ids(last_contact.max(recovered.loaded.replay.max_contact()));
    let restore = recovered.loaded.replay.restore(|_| true);
    engine.restore_agents(std::time::Instant::now(), wall_ms(), restore);
    engine.reconcile_legs(std::time::Instant::now(), recovered.loaded.legs);

    // Writers: binding changes and CDRs, in order, off the engine task.
    let (store_tx, store_rx) = mpsc::channel::<Vec<BindingChange>>(STORE_QUEUE);
    let (cdr_tx, cdr_rx) = mpsc::channel::<Cdr>(CDR_QUEUE);
    let store_task = tokio::spawn(run_store(store, store_rx));
    let cdr_task = tokio::spawn(run_cdr_writer(cdrs.clone(), cdr_rx));
    let (journal_tx, journal_rx) = mpsc::channel::<JournalOp>(JOURNAL_QUEUE);
    // The restart mark goes first: the restored agents' entries follow it.
    let _ = journal_tx.try_send(JournalOp::Append {
        at_ms: wall_ms(),
        entry: Entry::Restarted {
            closed: recovered.closed,
        },
    });
    let journal_task = tokio::spawn(journal::writer::run(
        journal_store,
        journal_rx,
        recovered.loaded.replay,
        recovered.loaded.since_snapshot,
    ));

    // HTTP.
    let bindings = Arc::new(RwLock::new(
        engine.registrar().bindings().cloned().collect::<Vec<_>>(),
    ));
    let draining = Arc::new(AtomicBool::new(false));
    let events = EventBus::new(EVENT_CAPACITY);
    let agents = Arc::new(RwLock::new(engine.agent_views()));
    let queues = Arc::new(RwLock::new(Vec::new()));
    let history = Arc::new(RwLock::new(Vec::new()));
    let (agent_tx, agent_rx) = mpsc::channel::<AgentCommand>(http::AGENT_QUEUE);
    let state = HttpState {
        bindings: bindings.clone(),
        metrics,
        draining: draining.clone(),
        wall_ms,
        agents: agents.clone(),
        agent_commands: agent_tx,
        agent_timeout: http::AGENT_REPLY_TIMEOUT,
        cdrs,
        events: events.clone(),
        ivr_flows: Some(flows),
        recordings: recordings.clone(),
        desk: Arc::new(http::desk::DeskSettings::from_config(&cfg)),
        queues: queues.clone(),
        history: history.clone(),
        auth: Arc::new(http::auth::Auth::from_config(&cfg)),
    };
    let mut http_stop = stop_rx.clone();
    let http_task = tokio::spawn(async move {
        let app = http::router(state);
        let r = axum::serve(http_listener, app)
            .with_graceful_shutdown(async move {
                let _ = http_stop.changed().await;
            })
            .await;
        if let Err(e) = r {
            tracing::error!(error = %e, "http server failed");
        }
    });

    // Engine task.
    let (drain_tx, drain_rx) = watch::channel(false);
    let io = engine_task::EngineIo {
        inbound: inbound_rx,
        outbound,
        store: store_tx,
        cdrs: cdr_tx,
        journal: journal_tx,
        bindings,
        agents,
        queues,
        history,
        agent_commands: agent_rx,
        events,
        from_ivr: ivr.from_ivr,
        to_ivr: ivr.to_ivr,
        drain: drain_rx,
    };
    let engine_task = tokio::spawn(engine_task::run(engine, io));

    on_ready(&listening);
    tracing::info!(udp = ?listening.udp, tcp = ?listening.tcp, http = %listening.http, db = %db_path.display(), "softacd ready");

    shutdown.await;
    tracing::info!("shutdown requested: draining");
    draining.store(true, Ordering::Relaxed);
    let _ = drain_tx.send(true);
    // The engine task ends once nothing is in flight (or the limit passes)…
    let _ = engine_task.await;
    // …then readers, the IVR and HTTP stop, and the writers flush.
    let _ = stop_tx.send(true);
    for r in readers {
        let _ = r.await;
    }
    let _ = ivr.task.await;
    let _ = watcher.await;
    let _ = http_task.await;
    // The relays are closed: their recordings finish writing.
    let unfinished =
        tokio::task::spawn_blocking(move || recordings.join_writers(RECORDING_FINISH_LIMIT))
            .await
            .unwrap_or(0);
    if unfinished > 0 {
        tracing::error!(unfinished, "recordings not finished at shutdown");
    }
    // The writers share the pool: close it only when all are done.
    let _ = cdr_task.await;
    let _ = journal_task.await;
    if let Ok(store) = store_task.await {
        store.close().await;
    }
    tracing::info!("shutdown complete");
    Ok(())
}

/// `[recording]`: where and how, with `<data_dir>/recordings` created;
/// `None` when recording is off.
fn recording_policy(
    cfg: &Config,
    data_dir: &std::path::Path,
) -> Result<Option<RecordingPolicy>, ServerError> {
    if !cfg.recording.enabled {
        return Ok(None);
    }
    let dir = data_dir.join("recordings");
    std::fs::create_dir_all(&dir).map_err(|source| ServerError::RecordingsDir {
        path: dir.clone(),
        source,
    })?;
    let layout = match cfg.recording.mode {
        RecordingMode::Mixed => Layout::Mixed,
        RecordingMode::Stereo => Layout::Stereo,
    };
    Ok(Some(RecordingPolicy { dir, layout }))
}

fn absolute(p: &std::path::Path) -> PathBuf {
    if p.is_absolute() {
        p.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|d| d.join(p))
            .unwrap_or_else(|_| p.to_path_buf())
    }
}

async fn run_store(
    store: BindingStore,
    mut rx: mpsc::Receiver<Vec<BindingChange>>,
) -> BindingStore {
    while let Some(changes) = rx.recv().await {
        if let Err(e) = store.apply(&changes).await {
            tracing::error!(error = %e, "could not persist registrations");
        }
    }
    store
}

/// What the previous process left: the folded journal and its live legs;
/// `closed` the contacts it died under, whose CDRs are written here.
struct Recovered {
    loaded: journal::Loaded,
    closed: Vec<u64>,
}

/// Start: fold the journal and close (CDR cause `server_restart`) every
/// contact that was open, before new contact ids are handed out.
async fn recover(store: &JournalStore, cdrs: &CdrStore) -> Result<Recovered, String> {
    let loaded = store.load().await.map_err(|e| e.to_string())?;
    let now = wall_ms();
    let mut closed = Vec::new();
    for open in loaded.replay.open_contacts() {
        match cdrs.insert(&journal::interrupted_cdr(open, now)).await {
            Ok(()) | Err(crate::cdr::CdrError::Duplicate { .. }) => closed.push(open.contact),
            Err(e) => return Err(e.to_string()),
        }
    }
    if !closed.is_empty() || !loaded.legs.is_empty() {
        tracing::warn!(
            contacts = ?closed,
            legs = loaded.legs.len(),
            "contacts interrupted by the previous process closed (server_restart)"
        );
    }
    Ok(Recovered { loaded, closed })
}

async fn run_cdr_writer(cdrs: CdrStore, mut rx: mpsc::Receiver<Cdr>) {
    while let Some(cdr) = rx.recv().await {
        if let Err(e) = cdrs.insert(&cdr).await {
            tracing::error!(contact = cdr.contact_id, error = %e, "could not write CDR");
        }
    }
}
