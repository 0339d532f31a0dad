//! The embedded IVR/MS and its links to the engine (docs/design/call-flow.md):
//! prompts and IVR scripts are loaded and validated before anything binds
//! (a bad script stops the start with file:line errors; later edits go
//! live through [`crate::ivr::store`]), the IVR shell runs
//! as its own task, SIP between it and the SoftACD travels serialized over
//! the in-process transport (and through the same ingress checks as any
//! socket), and interface B (RequestAgent, QueueTimeout…) over two channels.

use super::{ivr_peer, ServerError, MAX_CALLS};
use crate::acd::IvrToCti;
use crate::b2bua::CtiToIvr;
use crate::config::Config;
use crate::ivr::shell::{self, IvrChannels, IvrShellConfig};
use crate::ivr::store::{FlowStore, Reloader, StorePaths, Trigger};
use crate::media::prompt::PromptCache;
use crate::media::runtime::MediaRuntimeConfig;
use crate::media::Codec;
use crate::sip::ingress::{check_stream_message, Ingress};
use crate::sip::transaction::TimerConfig;
use crate::transport::Inbound;
use std::path::Path;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Messages waiting on each in-process link.
const LINK_QUEUE: usize = 4096;

pub struct IvrAssets {
    pub flows: Reloader,
    prompts: Arc<PromptCache>,
    /// `<data_dir>/voicemail`, where `record` nodes write.
    voicemail_dir: std::path::PathBuf,
}

/// Load prompts, then the flows through the registry (which checks every
/// `[[service]]` and `[[trunk]]` flow names a loaded flow and archives the
/// versions going live).
pub fn load_assets(cfg: &Config, data_dir: &Path) -> Result<IvrAssets, ServerError> {
    let prompts = PromptCache::load_dir(&cfg.media.dir).map_err(|e| ServerError::Prompts {
        path: cfg.media.dir.clone(),
        cause: e.to_string(),
    })?;
    let prompts = Arc::new(prompts);
    let paths = StorePaths {
        scripts_dir: cfg.ivr.scripts_dir.clone(),
        data_dir: data_dir.to_path_buf(),
    };
    let required = cfg.required_flows();
    let known = Arc::clone(&prompts);
    let flows = Reloader::new(
        FlowStore::new(paths, required),
        Arc::new(move |name: &str| known.get(name).is_some()),
    );
    flows
        .reload(Trigger::Start, super::wall_ms())
        .map_err(|e| ServerError::Scripts(e.to_string()))?;
    Ok(IvrAssets {
        flows,
        prompts,
        voicemail_dir: data_dir.join("voicemail"),
    })
}

pub struct IvrLink {
    pub sip_to_ivr: mpsc::Sender<Vec<u8>>,
    pub from_ivr: mpsc::Receiver<IvrToCti>,
    pub to_ivr: mpsc::Sender<CtiToIvr>,
    pub task: JoinHandle<()>,
}

pub fn start(
    cfg: &Config,
    assets: IvrAssets,
    ports: (u16, u16),
    inbound: mpsc::Sender<Inbound>,
    stop: watch::Receiver<bool>,
) -> IvrLink {
    let (sip_to_ivr, sip_in) = mpsc::channel(LINK_QUEUE);
    let (sip_out, mut sip_from_ivr) = mpsc::channel::<Vec<u8>>(LINK_QUEUE);
    let (to_ivr, cti_in) = mpsc::channel(LINK_QUEUE);
    let (cti_out, from_ivr) = mpsc::channel(LINK_QUEUE);
    let shell_cfg = IvrShellConfig {
        sip_host: "ivr.local".into(),
        softacd_peer: ivr_peer().addr,
        media: MediaRuntimeConfig {
            bind_ip: cfg.media.rtp_ip,
            port_min: ports.0,
            port_max: ports.1,
            max_streams: MAX_CALLS,
            dtmf: cfg.media.dtmf_paths(),
            rtp_threads: cfg.media.rtp_threads,
        },
        max_calls: MAX_CALLS,
        timers: TimerConfig {
            t1: cfg.sip.timers.t1(),
            t2: cfg.sip.timers.t2(),
            t4: cfg.sip.timers.t4(),
        },
        http_allow: cfg.ivr.http_allow.clone(),
        voicemail_dir: assets.voicemail_dir.clone(),
        voicemail_max_files: cfg.ivr.voicemail_max_files,
    };
    let channels = IvrChannels {
        sip_in,
        sip_out,
        cti_in,
        cti_out,
    };
    // Names were checked when the configuration was validated.
    let codecs: Vec<Codec> = cfg
        .media
        .codecs
        .iter()
        .filter_map(|n| Codec::from_name(n))
        .collect();
    let shell_task = shell::spawn_with_codecs(
        shell_cfg,
        &codecs,
        assets.flows.live(),
        assets.prompts,
        channels,
        stop,
    );
    // IVR → SoftACD: through the same ingress checks as any socket.
    let bridge = tokio::spawn(async move {
        while let Some(bytes) = sip_from_ivr.recv().await {
            match check_stream_message(&bytes) {
                Ingress::Accept(msg) => {
                    if inbound
                        .send(Inbound {
                            msg,
                            peer: ivr_peer(),
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                Ingress::Reject(resp) => {
                    tracing::warn!(code = resp.code, "IVR sent a malformed request")
                }
                Ingress::Drop(reason) => tracing::warn!(?reason, "IVR message dropped"),
            }
        }
    });
    let task = tokio::spawn(async move {
        let _ = shell_task.await;
        let _ = bridge.await;
    });
    IvrLink {
        sip_to_ivr,
        from_ivr,
        to_ivr,
        task,
    }
}
