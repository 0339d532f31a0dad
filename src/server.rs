//! The server shell (mini-redis style): `run` takes a loaded config, a
//! shutdown future and a callback told where everything listens. It binds the
//! sockets, restores registrations from SQLite, and runs three kinds of task:
//! transport readers, the single engine task that owns all SIP state (the only
//! place that reads the clock and passes `now` inward), and the HTTP server.
//! Graceful shutdown: new INVITEs get 503, in-flight transactions finish
//! (bounded wait), then readers stop and the store is flushed and closed.

use crate::acd::{Action, Engine, EngineConfig};
use crate::cdr::CdrStore;
use crate::config::Config;
use crate::events::{EventBus, EVENT_CAPACITY};
use crate::http::{self, AgentCommand, HttpState};
use crate::registrar::digest::Algorithm;
use crate::registrar::{
    Binding, BindingChange, BindingStore, RegisterEvent, Registrar, RegistrarConfig,
};
use crate::sip::transaction::TimerConfig;
use crate::sip::{HeaderView, Message};
use crate::telemetry::{self, Direction, RegisterResult};
use crate::transport::{self, ConnTable, Inbound, Outbound, INBOUND_QUEUE};
use metrics_exporter_prometheus::PrometheusHandle;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, watch};

/// Longest wait for in-flight transactions during shutdown.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(10);
/// Coarse tick for wall-clock work (binding expiry, gauges).
const TICK: Duration = Duration::from_secs(1);
/// Binding changes waiting to be written.
const STORE_QUEUE: usize = 1024;

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
    let db_path = data_dir.join(&cfg.storage.database);
    let store = BindingStore::open(&db_path)
        .await
        .map_err(|e| ServerError::Store {
            path: db_path.clone(),
            cause: e.to_string(),
        })?;
    let restored = store.load_all().await.map_err(|e| ServerError::Store {
        path: db_path.clone(),
        cause: e.to_string(),
    })?;

    let cdrs = CdrStore::new(store.pool().clone())
        .await
        .map_err(|e| ServerError::Store {
            path: db_path.clone(),
            cause: e.to_string(),
        })?;
    let mut registrar = Registrar::new(registrar_config(&cfg), random_bytes::<32>()?);
    registrar.restore(restored, wall_ms());
    let engine = Engine::new(
        EngineConfig {
            user_agent: cfg.sip.user_agent.clone(),
            timers: TimerConfig {
                t1: cfg.sip.timers.t1(),
                t2: cfg.sip.timers.t2(),
                t4: cfg.sip.timers.t4(),
            },
            max_transactions: cfg.sip.max_transactions,
        },
        registrar,
        u64::from_le_bytes(random_bytes::<8>()?),
    );

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
    let outbound = Outbound {
        udp: udp_socks,
        tcp: conns,
        tcp_inbound: inbound_tx.clone(),
    };
    drop(inbound_tx);

    // Store writer: binding changes are written in order, off the engine task.
    let (store_tx, store_rx) = mpsc::channel::<Vec<BindingChange>>(STORE_QUEUE);
    let store_task = tokio::spawn(run_store(store, store_rx));

    // HTTP.
    let bindings = Arc::new(RwLock::new(
        engine.registrar().bindings().cloned().collect::<Vec<_>>(),
    ));
    let draining = Arc::new(AtomicBool::new(false));
    let events = EventBus::new(EVENT_CAPACITY);
    let agents = Arc::new(RwLock::new(Vec::new()));
    // The engine task will own `agent_rx` (issue 3); until it does, agent
    // commands answer 503 "engine is not running".
    let (agent_tx, agent_rx) = mpsc::channel::<AgentCommand>(http::AGENT_QUEUE);
    drop(agent_rx);
    let state = HttpState {
        bindings: bindings.clone(),
        metrics,
        draining: draining.clone(),
        wall_ms,
        agents,
        agent_commands: agent_tx,
        agent_timeout: http::AGENT_REPLY_TIMEOUT,
        cdrs,
        events,
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
    let engine_task = tokio::spawn(run_engine(
        engine, inbound_rx, outbound, store_tx, bindings, drain_rx,
    ));

    on_ready(&listening);
    tracing::info!(udp = ?listening.udp, tcp = ?listening.tcp, http = %listening.http, db = %db_path.display(), "softacd ready");

    shutdown.await;
    tracing::info!("shutdown requested: draining");
    draining.store(true, Ordering::Relaxed);
    let _ = drain_tx.send(true);
    // The engine task ends once nothing is in flight (or the limit passes)…
    let _ = engine_task.await;
    // …then readers and HTTP stop, and the store flushes what it was given.
    let _ = stop_tx.send(true);
    for r in readers {
        let _ = r.await;
    }
    let _ = http_task.await;
    let _ = store_task.await;
    tracing::info!("shutdown complete");
    Ok(())
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

async fn run_store(store: BindingStore, mut rx: mpsc::Receiver<Vec<BindingChange>>) {
    while let Some(changes) = rx.recv().await {
        if let Err(e) = store.apply(&changes).await {
            tracing::error!(error = %e, "could not persist registrations");
        }
    }
    store.close().await;
}

async fn run_engine(
    mut engine: Engine,
    mut inbound: mpsc::Receiver<Inbound>,
    outbound: Outbound,
    store: mpsc::Sender<Vec<BindingChange>>,
    bindings: Arc<RwLock<Vec<Binding>>>,
    mut drain: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut drain_deadline: Option<tokio::time::Instant> = None;
    loop {
        let wake = engine
            .poll_timeout()
            .map(tokio::time::Instant::from_std)
            .unwrap_or_else(|| tokio::time::Instant::now() + TICK);
        tokio::select! {
            m = inbound.recv() => match m {
                Some(Inbound { msg, peer }) => {
                    count_in(&msg);
                    let span = tracing::info_span!("sip", call_id = msg.call_id().unwrap_or("-"));
                    let _e = span.enter();
                    engine.handle_received(Instant::now(), wall_ms(), msg, peer);
                }
                None => break,
            },
            _ = tokio::time::sleep_until(wake) => engine.handle_timeout(Instant::now(), wall_ms()),
            _ = tick.tick() => engine.handle_timeout(Instant::now(), wall_ms()),
            r = drain.changed(), if drain_deadline.is_none() => {
                if r.is_ok() {
                    engine.begin_shutdown();
                }
                drain_deadline = Some(tokio::time::Instant::now() + DRAIN_LIMIT);
            }
        }
        let changed = perform_actions(&mut engine, &outbound, &store).await;
        if changed {
            let snapshot: Vec<Binding> = engine.registrar().bindings().cloned().collect();
            telemetry::set_registrations(snapshot.len());
            *bindings.write().unwrap_or_else(|p| p.into_inner()) = snapshot;
        }
        telemetry::set_sip_transactions(engine.transactions());
        if let Some(deadline) = drain_deadline {
            if engine.in_flight() == 0 || tokio::time::Instant::now() >= deadline {
                tracing::info!(in_flight = engine.in_flight(), "engine drained");
                break;
            }
        }
    }
}

/// Returns true when bindings changed.
async fn perform_actions(
    engine: &mut Engine,
    outbound: &Outbound,
    store: &mpsc::Sender<Vec<BindingChange>>,
) -> bool {
    let mut changed = false;
    while let Some(action) = engine.poll_action() {
        match action {
            Action::Transmit { peer, msg } => {
                count_out(&msg);
                if let Err(e) = outbound.send(&peer, msg.to_bytes()).await {
                    tracing::info!(error = %e, "send failed");
                }
            }
            Action::Persist(changes) => {
                changed = true;
                if store.send(changes).await.is_err() {
                    tracing::error!("store writer is gone: registrations not persisted");
                }
            }
            Action::Registration(event) => log_registration(&event),
        }
    }
    changed
}

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
    match msg {
        Message::Request(r) => telemetry::count_sip_request(r.method.as_str(), Direction::In),
        Message::Response(r) => {
            let method = r
                .cseq()
                .map(|c| c.method.as_str().to_string())
                .unwrap_or_else(|_| "-".into());
            telemetry::count_sip_response(r.code, &method, Direction::In)
        }
    }
}

fn count_out(msg: &Message) {
    match msg {
        Message::Request(r) => telemetry::count_sip_request(r.method.as_str(), Direction::Out),
        Message::Response(r) => {
            let method = r
                .cseq()
                .map(|c| c.method.as_str().to_string())
                .unwrap_or_else(|_| "-".into());
            telemetry::count_sip_response(r.code, &method, Direction::Out)
        }
    }
}
