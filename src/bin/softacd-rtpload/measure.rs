//! What the load tool measures: a microsecond jitter histogram, CPU time
//! of named threads from /proc/self/task (Linux), RSS from
//! /proc/self/status, the echo baseline server, and the result line.

use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// 1 µs buckets up to 20 ms, then one overflow bucket.
const BUCKETS: usize = 20_001;
/// Nap of a polling loop that found nothing.
pub const IDLE: Duration = Duration::from_micros(100);
/// Linux USER_HZ (the unit of utime/stime in /proc/*/stat).
const CLK_TCK: f64 = 100.0;

pub struct Histogram {
    counts: Vec<u64>,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            counts: vec![0; BUCKETS + 1],
        }
    }
}

impl Histogram {
    pub fn add(&mut self, us: u64) {
        let i = (us as usize).min(BUCKETS);
        self.counts[i] += 1;
    }
    pub fn merge(&mut self, o: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(&o.counts) {
            *a += b;
        }
    }
    pub fn samples(&self) -> u64 {
        self.counts.iter().sum()
    }
    /// The q-quantile in µs (`BUCKETS` means "over 20 ms").
    pub fn quantile(&self, q: f64) -> u64 {
        let total = self.samples();
        let want = ((total as f64) * q).ceil() as u64;
        let mut seen = 0;
        for (i, c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= want.max(1) {
                return i as u64;
            }
        }
        BUCKETS as u64
    }
}

#[derive(Default)]
pub struct Report {
    pub streams_seen: usize,
    pub packets: u64,
    pub lost: i64,
    pub hist: Histogram,
}

/// CPU time of this process's threads whose name starts with a prefix.
pub struct CpuClock {
    prefix: &'static str,
}

impl CpuClock {
    pub fn new(prefix: &'static str) -> CpuClock {
        CpuClock { prefix }
    }

    /// (when, CPU ticks so far of the matching threads).
    pub fn sample(&self) -> (Instant, u64) {
        let mut ticks = 0;
        if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
            for task in dir.flatten() {
                let p = task.path();
                let comm = std::fs::read_to_string(p.join("comm")).unwrap_or_default();
                if !comm.starts_with(self.prefix) {
                    continue;
                }
                let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
                // Fields after the ")" of comm: state is field 3; utime 14, stime 15.
                let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
                let f: Vec<&str> = rest.split_whitespace().collect();
                let get = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
                ticks += get(11) + get(12);
            }
        }
        (Instant::now(), ticks)
    }

    /// CPU% (100 = one core) between two samples.
    pub fn percent(a: (Instant, u64), b: (Instant, u64)) -> f64 {
        let wall = b.0.duration_since(a.0).as_secs_f64();
        let cpu = (b.1.saturating_sub(a.1)) as f64 / CLK_TCK;
        if wall > 0.0 {
            100.0 * cpu / wall
        } else {
            0.0
        }
    }
}

pub fn rss_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The baseline: threads named `echo-N`, each polling its share of the
/// sockets (100 µs nap when all are empty) and sending every datagram
/// straight back to its source, so the echo keeps the generator's pacing.
pub struct Echo {
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

impl Echo {
    pub fn start(sockets: Vec<UdpSocket>, threads: usize) -> Result<Echo, String> {
        let stop = Arc::new(AtomicBool::new(false));
        let mut shares: Vec<Vec<UdpSocket>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, s) in sockets.into_iter().enumerate() {
            shares[i % threads].push(s);
        }
        let mut handles = Vec::new();
        for (k, share) in shares.into_iter().enumerate() {
            let stop = stop.clone();
            let h = std::thread::Builder::new()
                .name(format!("echo-{k}"))
                .spawn(move || echo_loop(share, &stop))
                .map_err(|e| e.to_string())?;
            handles.push(h);
        }
        Ok(Echo {
            stop,
            threads: handles,
        })
    }

    pub fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.threads {
            let _ = h.join();
        }
    }
}

fn echo_loop(sockets: Vec<UdpSocket>, stop: &AtomicBool) {
    let mut buf = [0u8; 1500];
    while !stop.load(Ordering::Relaxed) {
        let mut got = 0;
        for s in &sockets {
            for _ in 0..16 {
                match s.recv_from(&mut buf) {
                    Ok((n, src)) => {
                        got += 1;
                        let _ = s.send_to(&buf[..n], src);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
        }
        if got == 0 {
            std::thread::sleep(IDLE);
        }
    }
}

/// One result line.
pub struct Summary {
    mode: &'static str,
    n: usize,
    report: Report,
    cpu_pct: f64,
    rss_per_stream_kb: f64,
    pub digits: Option<(u64, u64)>,
    pub send_drops: u64,
}

impl Summary {
    pub fn new(
        mode: &'static str,
        n: usize,
        report: Report,
        cpu_pct: f64,
        rss_before: u64,
        rss_after: u64,
    ) -> Summary {
        Summary {
            mode,
            n,
            report,
            cpu_pct,
            rss_per_stream_kb: rss_after.saturating_sub(rss_before) as f64 / n as f64,
            digits: None,
            send_drops: 0,
        }
    }

    pub fn header() -> &'static str {
        "mode  streams  seen  p50_us  p99_us  max_us  packets  lost  cpu%  cpu%/1k  rss_kb/stream  digits(det/sent)  send_drops  pass"
    }

    pub fn line(&self) -> String {
        let h = &self.report.hist;
        let p99 = h.quantile(0.99);
        let pass = p99 <= 2000 && self.report.lost == 0 && self.report.streams_seen == self.n;
        let digits = self
            .digits
            .map_or("-".to_string(), |(d, s)| format!("{d}/{s}"));
        format!(
            "{:<5} {:>7}  {:>4}  {:>6}  {:>6}  {:>6}  {:>7}  {:>4}  {:>4.1}  {:>7.2}  {:>13.2}  {:>16}  {:>10}  {}",
            self.mode,
            self.n,
            self.report.streams_seen,
            h.quantile(0.50),
            p99,
            h.quantile(1.0),
            self.report.packets,
            self.report.lost,
            self.cpu_pct,
            self.cpu_pct * 1000.0 / self.n as f64,
            self.rss_per_stream_kb,
            digits,
            self.send_drops,
            if pass { "PASS" } else { "FAIL" }
        )
    }
}
