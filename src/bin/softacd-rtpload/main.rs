//! `softacd-rtpload`: the issue-4 media benchmark (not a test). It opens N
//! IVR streams through [`MediaHandle`] (no SIP), each playing hold music as
//! PCMU every 20 ms, and drives them from an in-process generator that
//! sends G.711 every 20 ms and an RFC 4733 key press per stream every 5 s
//! (RFC 3550 RTP, RFC 4733 events, rtcp-mux so one socket per stream).
//! In the same run, for the same N, a plain RTP echo loop (same thread
//! count, same socket kind, replying as packets arrive) gives the baseline. For each
//! it reports p50/p99/max inter-packet jitter of what the server sent as
//! seen by the generator (|gap − 20 ms|), packets lost (RTP sequence
//! gaps), digits detected, CPU% of the server threads and RSS per stream.
//! Everything binds 127.0.0.1; counts and durations are bounded.

mod generator;
mod measure;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use softacd::media::prompt::PromptCache;
use softacd::media::runtime::{
    MediaError, MediaHandle, MediaRuntime, MediaRuntimeConfig, RtcpMode, StreamId,
};
use softacd::media::{Codec, DtmfPaths};
use tokio::sync::mpsc;

use generator::{Generator, GeneratorConfig};
use measure::{CpuClock, Summary};

const LO: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Largest stream count accepted (the fd limit here is 20,000).
const MAX_STREAMS: usize = 12_000;
const PORT_MIN: u16 = 20_000;
const PORT_MAX: u16 = 59_999;
const DTMF_PT: u8 = 101;

#[derive(Parser, Debug)]
#[command(about = "IVR media load: N streams vs a plain RTP echo baseline")]
struct Args {
    /// Stream counts to run, in order (a ramp), e.g. 1000,2000,5000.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    streams: Vec<usize>,
    /// Measured seconds per step (after a 2 s warm-up).
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Server media threads (0 = one per core).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Which servers to run: ivr, echo or both.
    #[arg(long, default_value = "both")]
    mode: String,
    /// Prompt directory.
    #[arg(long, default_value = "media")]
    media: PathBuf,
    /// Also run the in-band (Q.24 Goertzel) DTMF detector on every stream.
    #[arg(long)]
    inband: bool,
}

fn main() -> Result<(), String> {
    let args = Args::parse();
    if args.seconds == 0 || args.seconds > 120 {
        return Err("--seconds must be 1..=120".into());
    }
    let prompts = Arc::new(
        PromptCache::load_dir(&args.media).map_err(|e| format!("{}: {e}", args.media.display()))?,
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let threads = MediaRuntimeConfig {
        bind_ip: LO,
        port_min: PORT_MIN,
        port_max: PORT_MAX,
        max_streams: 0,
        rtp_threads: args.threads,
        dtmf: DtmfPaths::default(),
    }
    .threads();
    println!(
        "# softacd-rtpload: {threads} server media thread(s), {} s measured per step, in-band DTMF {}",
        args.seconds,
        if args.inband { "on" } else { "off" }
    );
    println!("{}", Summary::header());
    for &n in &args.streams {
        if n == 0 || n > MAX_STREAMS {
            return Err(format!("stream count {n} is outside 1..={MAX_STREAMS}"));
        }
        if args.mode == "ivr" || args.mode == "both" {
            let s = rt.block_on(run_ivr(&args, threads, n, prompts.clone()))?;
            println!("{}", s.line());
        }
        if args.mode == "echo" || args.mode == "both" {
            let s = run_echo(&args, threads, n)?;
            println!("{}", s.line());
        }
    }
    Ok(())
}

async fn run_ivr(
    args: &Args,
    threads: usize,
    n: usize,
    prompts: Arc<PromptCache>,
) -> Result<Summary, String> {
    let rss_before = measure::rss_kb();
    let (tx, mut events) = mpsc::channel(65_536);
    let cfg = MediaRuntimeConfig {
        bind_ip: LO,
        port_min: PORT_MIN,
        port_max: PORT_MAX,
        max_streams: n,
        rtp_threads: threads,
        dtmf: DtmfPaths {
            rfc4733: true,
            inband: args.inband,
            info: false,
        },
    };
    let media = MediaRuntime::start(cfg, prompts, tx);
    let gen_cfg = GeneratorConfig::for_streams(n);
    let gen_addrs = gen_cfg.bind()?;
    let mut targets = Vec::with_capacity(n);
    for i in 0..n {
        let local = gen_addrs.addr_for(i);
        targets.push(open_ivr_stream(&media, i as u64, local).await?);
    }
    let digits = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = digits.clone();
    let counter = tokio::spawn(async move {
        while let Some(e) = events.recv().await {
            if matches!(e, softacd::media::runtime::MediaEvent::Digit { .. }) {
                counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        }
    });
    let gen = Generator::start(gen_addrs, targets, true)?;
    let cpu = CpuClock::new("media-");
    let (report, sent_digits, cpu_pct, rss_after) = measure_window(gen, &cpu, args.seconds).await;
    let stats = media.stats();
    drop(media);
    counter.abort();
    let mut s = Summary::new("ivr", n, report, cpu_pct, rss_before, rss_after);
    s.digits = Some((
        digits.load(std::sync::atomic::Ordering::Relaxed),
        sent_digits,
    ));
    s.send_drops = stats.packets_dropped;
    Ok(s)
}

async fn open_ivr_stream(
    media: &MediaHandle,
    i: u64,
    generator: SocketAddr,
) -> Result<SocketAddr, String> {
    let id = StreamId(i);
    let ours = media
        .open_stream_with(id, RtcpMode::Mux)
        .await
        .map_err(|e| format!("stream {i}: {e}"))?;
    retry_busy(|| media.configure(id, generator, Codec::Pcmu, 0, Some(DTMF_PT))).await?;
    retry_busy(|| media.play_loop(id, "hold".into())).await?;
    Ok(ours)
}

async fn retry_busy(f: impl Fn() -> Result<(), MediaError>) -> Result<(), String> {
    for _ in 0..1000 {
        match f() {
            Err(MediaError::Busy) => tokio::time::sleep(Duration::from_millis(1)).await,
            other => return other.map_err(|e| e.to_string()),
        }
    }
    Err("media command queue stayed full".into())
}

/// Warm up 2 s, then measure for `seconds`: the generator's jitter and
/// loss, CPU% of the server threads, RSS at the end.
async fn measure_window(
    gen: Generator,
    cpu: &CpuClock,
    seconds: u64,
) -> (measure::Report, u64, f64, u64) {
    tokio::time::sleep(Duration::from_secs(2)).await;
    gen.begin_measuring();
    let t0 = cpu.sample();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    let t1 = cpu.sample();
    let rss = measure::rss_kb();
    let (report, digits) = gen.finish();
    (report, digits, CpuClock::percent(t0, t1), rss)
}

fn run_echo(args: &Args, threads: usize, n: usize) -> Result<Summary, String> {
    let rss_before = measure::rss_kb();
    let gen_cfg = GeneratorConfig::for_streams(n);
    let gen_addrs = gen_cfg.bind()?;
    let mut sockets = Vec::with_capacity(n);
    let mut targets = Vec::with_capacity(n);
    let mut port = PORT_MIN;
    while sockets.len() < n {
        if port >= PORT_MAX {
            return Err("no free ports for the echo baseline".into());
        }
        if let Ok(s) = UdpSocket::bind((LO, port)) {
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            targets.push(SocketAddr::new(LO, port));
            sockets.push(s);
        }
        port += 2;
    }
    let echo = measure::Echo::start(sockets, threads)?;
    let gen = Generator::start(gen_addrs, targets, false)?;
    let cpu = CpuClock::new("echo-");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let (report, _, cpu_pct, rss_after) = rt.block_on(measure_window(gen, &cpu, args.seconds));
    echo.stop();
    Ok(Summary::new(
        "echo", n, report, cpu_pct, rss_before, rss_after,
    ))
}
