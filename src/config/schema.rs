//! The configuration schema: one struct per TOML table, with the default of
//! every key. Owns the shape of `softacd.toml` (mission: "contact-center
//! admins"); the meaning of each key is in `docs/configuration.md`.
//!
//! Every table denies unknown keys, so a misspelt key is an error rather than
//! a silently ignored setting. Every key has a default except a seat's `user`
//! and `password`, so an empty file is a valid configuration.

use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub sip: SipConfig,
    pub http: HttpConfig,
    pub storage: StorageConfig,
    pub media: MediaConfig,
    pub ivr: IvrConfig,
    pub registrar: RegistrarSection,
    pub log: LogConfig,
    /// Agents' seats (`[[seat]]`), in file order.
    pub seat: Vec<SeatConfig>,
    /// CTI routing policy (`[cti]`).
    pub cti: CtiSection,
    /// Queues (`[[queue]]`): contacts of every channel wait in these.
    pub queue: Vec<QueueSection>,
    /// Service numbers (`[[service]]`): dialed number → IVR script.
    pub service: Vec<ServiceSection>,
    /// Call recording (`[recording]`, relay media mode only).
    pub recording: RecordingConfig,
    /// The agent desktop (`[desk]`): break reasons and dispositions.
    pub desk: DeskSection,
    /// Carrier trunks (`[[trunk]]`): source addresses → routing (issue 5).
    pub trunk: Vec<TrunkSection>,
    /// Supervisors and admins who sign in over HTTP (`[[supervisors]]`).
    pub supervisors: Vec<SupervisorConfig>,
}

/// `[[trunk]]`: INVITEs from `sources` come from this carrier; they skip
/// digest authentication and are routed by `services`, then the global
/// `[[service]]`s, then `script` (docs/configuration.md, "Trunks").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrunkSection {
    /// Unique, `[A-Za-z0-9_-]`.
    pub name: String,
    /// Source IPs, each an address or a CIDR block (v4 or v6).
    pub sources: Vec<String>,
    /// Catch-all flow for this trunk's calls to a number nothing else maps.
    #[serde(default)]
    pub script: Option<String>,
    /// This trunk's own numbers → flow, tried before `[[service]]`.
    #[serde(default)]
    pub services: std::collections::BTreeMap<String, String>,
}

impl Config {
    /// Every flow a `[[service]]` or `[[trunk]]` names: the server refuses
    /// to start (and a reload is refused) while one is missing.
    pub fn required_flows(&self) -> Vec<String> {
        let mut out: Vec<String> = self.service.iter().map(|s| s.script.clone()).collect();
        for t in &self.trunk {
            out.extend(t.script.iter().cloned());
            out.extend(t.services.values().cloned());
        }
        out.sort();
        out.dedup();
        out
    }
}

/// `[desk]`: the codes the agent desktop offers (issue 6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeskSection {
    /// Reason codes an agent may give for a break (not ready).
    pub break_reasons: Vec<String>,
    /// Disposition codes an agent picks in wrap-up (stored in the CDR).
    pub dispositions: Vec<String>,
}

impl Default for DeskSection {
    fn default() -> Self {
        let list = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        DeskSection {
            break_reasons: list(&["lunch", "training", "personal"]),
            dispositions: list(&["resolved", "callback", "escalated"]),
        }
    }
}

/// `[recording]`: record relayed calls to WAV files in
/// `<data_dir>/recordings/` (issue 4, "Recording").
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecordingConfig {
    pub enabled: bool,
    /// `mixed`: one channel; `stereo`: caller left, agent right.
    pub mode: RecordingMode,
}

/// `[recording] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordingMode {
    #[default]
    Mixed,
    Stereo,
}

/// `[cti]`: agent no-answer handling (MISSION.md step 8).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CtiSection {
    /// Seconds an agent's phone may ring before the CTI gives the contact to
    /// the next agent.
    pub ring_timeout_s: u64,
    /// Consecutive missed offers after which an agent is made not-ready
    /// ("no answer"); 0 disables the rule.
    pub max_no_answer: u32,
    /// Skill level given to each skill a seat lists (1–10).
    pub seat_skill_level: u8,
    /// Contacts an agent may hold at once per channel (voice and video 0 or
    /// 1: one call at most).
    pub capacity: CapacitySection,
    /// Offer chats, emails and SMS to an agent in a call (and calls to an
    /// agent holding them); off: calls and text contacts never overlap.
    pub chat_during_voice: bool,
    /// Where a callback calls the customer: a `sip:` URI with `{number}`
    /// (loopback or `[ivr] transfer_allow` hosts only).
    pub callback_trunk: String,
    /// Further attempts when the customer is busy or does not answer.
    pub callback_retries: u32,
    /// Seconds between attempts (the agent waits on the line).
    pub callback_retry_s: u64,
    /// Seconds the customer's phone may ring.
    pub callback_ring_s: u64,
    /// Seconds a callback may wait for an agent before it expires.
    pub callback_max_age_s: u64,
    /// Callbacks waiting or in progress, at most.
    pub max_callbacks: usize,
    /// Contacts that leave a queue within this many seconds are short
    /// abandons: reported apart, not in `abandoned` or the service level.
    pub short_abandon_s: u64,
}

/// `[cti] capacity = { voice = 1, video = 1, chat = 3, email = 5, sms = 5 }`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CapacitySection {
    pub voice: u32,
    pub video: u32,
    pub chat: u32,
    pub email: u32,
    pub sms: u32,
}

impl Default for CapacitySection {
    fn default() -> Self {
        CapacitySection {
            voice: 1,
            video: 1,
            chat: 3,
            email: 5,
            sms: 5,
        }
    }
}

impl Default for CtiSection {
    fn default() -> Self {
        CtiSection {
            ring_timeout_s: 20,
            max_no_answer: 3,
            seat_skill_level: 5,
            capacity: CapacitySection::default(),
            chat_during_voice: false,
            callback_trunk: "sip:{number}@127.0.0.1:5080".into(),
            callback_retries: 2,
            callback_retry_s: 10,
            callback_ring_s: 30,
            callback_max_age_s: 3_600,
            max_callbacks: 1_000,
            short_abandon_s: 5,
        }
    }
}

/// What a queue does when no signed-in agent has the skills asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NoAgentsPolicy {
    /// Keep the caller waiting: an agent may sign in.
    #[default]
    Wait,
    /// Announce and hang up at once.
    Reject,
}

/// `[[queue]]`: one queue's policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QueueSection {
    pub name: String,
    #[serde(default = "default_queue_size")]
    pub max_size: usize,
    /// Seconds before the caller is told goodbye; 0 waits forever.
    #[serde(default = "default_max_wait")]
    pub max_wait_s: u64,
    /// Seconds of wrap-up an agent gets after a call from this queue.
    #[serde(default = "default_wrap_up")]
    pub wrap_up_s: u64,
    #[serde(default)]
    pub no_agents: NoAgentsPolicy,
    /// Average handling time (talk + wrap-up, seconds) assumed for
    /// estimated waits until contacts of this queue have finished.
    #[serde(default = "default_aht")]
    pub default_aht_s: u64,
    /// How the queue picks among free agents able to serve its next contact.
    #[serde(default)]
    pub strategy: StrategyConfig,
    /// Time-based escalation steps, `after_s` strictly increasing.
    #[serde(default)]
    pub escalate: Vec<EscalateStep>,
    /// Service-level threshold: contacts answered within this many seconds
    /// count toward the queue's service level.
    #[serde(default = "default_service_level")]
    pub service_level_s: u64,
}

/// `[[queue]] strategy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StrategyConfig {
    #[default]
    LongestIdle,
    RoundRobin,
    FewestContacts,
}

/// One `[[queue]] escalate` step: after `after_s` seconds of waiting, widen
/// the required levels to at most `min_level`, and/or move to `queue`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalateStep {
    pub after_s: u64,
    #[serde(default)]
    pub min_level: Option<u8>,
    #[serde(default)]
    pub queue: Option<String>,
}

fn default_aht() -> u64 {
    180
}
fn default_service_level() -> u64 {
    20
}
fn default_queue_size() -> usize {
    100
}
fn default_max_wait() -> u64 {
    600
}
fn default_wrap_up() -> u64 {
    10
}

/// `[[service]]`: calls to `number` (the Request-URI user part) run `script`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub number: String,
    /// An IVR flow in `[ivr] scripts_dir`, by name (file stem).
    pub script: String,
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// `[sip]`: the SIP listeners and the transaction layer's limits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipConfig {
    /// UDP socket addresses to listen on; port 0 picks any free port.
    pub udp: Vec<SocketAddr>,
    /// TCP socket addresses to listen on; port 0 picks any free port.
    pub tcp: Vec<SocketAddr>,
    /// Our SIP domain, the registrar's host part.
    pub domain: String,
    /// The User-Agent / Server header value.
    pub user_agent: String,
    /// Upper bound on live transactions (client + server).
    pub max_transactions: usize,
    /// Seconds between in-dialog OPTIONS probes of each live call's legs
    /// (0 = off, else 1..=3600); a leg that answers 481 or not at all is
    /// cleared as if it had sent BYE.
    pub leg_probe_s: u64,
    pub timers: SipTimers,
}

impl Default for SipConfig {
    fn default() -> Self {
        SipConfig {
            udp: vec![loopback(5060)],
            tcp: vec![loopback(5060)],
            domain: "127.0.0.1".to_owned(),
            user_agent: "SoftACD/0.1".to_owned(),
            max_transactions: 100_000,
            leg_probe_s: 30,
            timers: SipTimers::default(),
        }
    }
}

/// `[sip.timers]`: the RFC 3261 §17.1.1.1 timer bases, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SipTimers {
    /// T1, the round-trip estimate (RFC default 500 ms).
    pub t1_ms: u64,
    /// T2, the cap on non-INVITE and INVITE-response retransmit intervals (4 s).
    pub t2_ms: u64,
    /// T4, the longest a message stays in the network (5 s).
    pub t4_ms: u64,
}

impl Default for SipTimers {
    fn default() -> Self {
        SipTimers {
            t1_ms: 500,
            t2_ms: 4000,
            t4_ms: 5000,
        }
    }
}

impl SipTimers {
    pub fn t1(&self) -> Duration {
        Duration::from_millis(self.t1_ms)
    }
    pub fn t2(&self) -> Duration {
        Duration::from_millis(self.t2_ms)
    }
    pub fn t4(&self) -> Duration {
        Duration::from_millis(self.t4_ms)
    }
}

/// `[http]`: the admin/CTI HTTP API and `/metrics`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    pub listen: SocketAddr,
    /// Argon2 PHC string of the admin token (`Authorization: Bearer`).
    pub admin_token_hash: Option<String>,
    /// GET routes need a supervisor session or the admin token too.
    pub require_auth_for_reads: bool,
    /// How long a login session lasts, in seconds.
    pub session_ttl_s: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            listen: loopback(8080),
            admin_token_hash: None,
            require_auth_for_reads: false,
            session_ttl_s: 8 * 3600,
        }
    }
}

/// What a supervisor may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SupervisorRole {
    /// Watch: `/wall` and the read routes.
    #[default]
    Supervisor,
    /// Watch and change: every admin route too.
    Admin,
}

/// `[[supervisors]]`: who may sign in at `/wall` (`POST /api/login`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SupervisorConfig {
    pub id: String,
    /// Argon2 PHC string (`softacd hash-password`).
    pub password_hash: String,
    #[serde(default)]
    pub role: SupervisorRole,
}

/// `[storage]`: where the database lives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// Relative paths are relative to the current directory.
    pub data_dir: PathBuf,
    /// Relative to `data_dir`.
    pub database: PathBuf,
}

impl Default for StorageConfig {
    fn default() -> Self {
        StorageConfig {
            data_dir: PathBuf::from("data"),
            database: PathBuf::from("softacd.sqlite"),
        }
    }
}

/// `[media]`: prompt assets (audio, hold music, video clips).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MediaConfig {
    pub dir: PathBuf,
    /// `relay`: RTP anchored through the SoftACD (recording and monitoring
    /// possible; no re-INVITE unless codecs change). `direct`: SDP passed
    /// through and the caller re-INVITEd with the agent's SDP (seed step 10).
    pub mode: MediaModeConfig,
    /// Address RTP sockets bind to and SDP advertises.
    pub rtp_ip: std::net::IpAddr,
    /// Even ports in this range carry the relay's and the IVR's RTP.
    pub rtp_port_min: u16,
    pub rtp_port_max: u16,
    /// Media OS threads for the IVR's RTP (issue 4); 0 = one per core.
    pub rtp_threads: usize,
    /// Codecs the IVR accepts, in our order of preference when we offer
    /// (RFC 3264); names as in `a=rtpmap`: PCMU, PCMA, G722, opus.
    pub codecs: Vec<String>,
    /// DTMF paths on for every call (global, `[[trunk]]` calls included):
    /// any of "rfc4733", "inband", "info"; default all three.
    pub dtmf: Vec<DtmfPath>,
}

/// One entry of `[media] dtmf`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DtmfPath {
    /// RFC 4733 telephone-events in RTP.
    Rfc4733,
    /// Tones in the G.711 audio (ITU-T Q.24 detector).
    Inband,
    /// SIP INFO with application/dtmf-relay or application/dtmf.
    Info,
}

impl MediaConfig {
    /// `dtmf` as the media layer takes it.
    pub fn dtmf_paths(&self) -> crate::media::DtmfPaths {
        let on = |p| self.dtmf.contains(&p);
        crate::media::DtmfPaths {
            rfc4733: on(DtmfPath::Rfc4733),
            inband: on(DtmfPath::Inband),
            info: on(DtmfPath::Info),
        }
    }
}

/// `[media] mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaModeConfig {
    #[default]
    Relay,
    Direct,
}

impl Default for MediaConfig {
    fn default() -> Self {
        MediaConfig {
            dir: PathBuf::from("media"),
            mode: MediaModeConfig::Relay,
            rtp_ip: std::net::IpAddr::V4(Ipv4Addr::LOCALHOST),
            rtp_port_min: 20000,
            rtp_port_max: 39999,
            codecs: ["PCMU", "PCMA", "G722", "opus"].map(String::from).to_vec(),
            dtmf: vec![DtmfPath::Rfc4733, DtmfPath::Inband, DtmfPath::Info],
            rtp_threads: 0,
        }
    }
}

/// `[ivr]`: where the IVR scripts are read from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IvrConfig {
    pub scripts_dir: PathBuf,
    /// Non-loopback `host:port`s the http node may call (loopback always may).
    pub http_allow: Vec<String>,
    /// Non-loopback IP hosts (`ip` or `ip:port`) the transfer node may
    /// call (loopback always may): the toll-fraud guard.
    pub transfer_allow: Vec<String>,
    /// Most voicemail WAV files in `<data_dir>/voicemail`; then `record`
    /// nodes fail (their `on_error`) until files are removed.
    pub voicemail_max_files: usize,
}

impl Default for IvrConfig {
    fn default() -> Self {
        IvrConfig {
            scripts_dir: PathBuf::from("ivr-scripts"),
            http_allow: Vec::new(),
            transfer_allow: Vec::new(),
            voicemail_max_files: 10_000,
        }
    }
}

/// `[registrar]`: RFC 3261 §10 registrar policy and digest realm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrarSection {
    /// Digest realm (RFC 2617 / RFC 3261 §22.1).
    pub realm: String,
    /// Shorter requested expiries get 423 Interval Too Brief (§10.3 step 7).
    pub min_expires: u32,
    /// Longer requested expiries are cut down to this.
    pub max_expires: u32,
    /// Used when the REGISTER names no expiry.
    pub default_expires: u32,
    /// How long an issued nonce is accepted, in seconds.
    pub nonce_ttl_s: u64,
    /// Upper bound on contacts bound to one address-of-record.
    pub max_bindings_per_aor: usize,
    /// Digest algorithms offered in challenges, most preferred first:
    /// "MD5" and/or "SHA-256" (RFC 7616 §3.7).
    pub digest_algorithms: Vec<String>,
}

impl Default for RegistrarSection {
    fn default() -> Self {
        RegistrarSection {
            realm: "softacd".to_owned(),
            min_expires: 60,
            max_expires: 3600,
            default_expires: 3600,
            nonce_ttl_s: 300,
            max_bindings_per_aor: 10,
            digest_algorithms: vec!["MD5".to_owned()],
        }
    }
}

/// Output format of the log lines written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `[log]`: tracing filter and format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// tracing `EnvFilter` syntax; `RUST_LOG` overrides it.
    pub level: String,
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".to_owned(),
            format: LogFormat::Text,
        }
    }
}

/// `[[seat]]`: an agent's seat, its SIP credentials and skills.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatConfig {
    /// SIP user part of the seat's address-of-record (required).
    pub user: String,
    /// Digest password (required, non-empty).
    pub password: String,
    #[serde(default)]
    pub skills: Vec<String>,
    /// A seat that registers is signed in and ready on its registered contact.
    #[serde(default = "yes")]
    pub auto_ready: bool,
    /// The agent's desktop password as an Argon2 PHC string
    /// (`softacd hash-password`); no hash: the seat cannot sign in at `/desk`.
    #[serde(default)]
    pub agent_password_hash: Option<String>,
}

fn yes() -> bool {
    true
}

impl SeatConfig {
    /// The password the demo ships with for this seat: `demo` + user.
    pub fn demo_password(&self) -> String {
        format!("demo{}", self.user)
    }

    /// True while the seat still has its published demo password.
    pub fn has_demo_password(&self) -> bool {
        self.password == self.demo_password()
    }
}
