//! The load generator: per stream, one PCMU packet every 20 ms and an
//! RFC 4733 key press every 5 s (staggered), sent from a few shared
//! sockets (the server latches to them); receiver threads time every
//! audio packet that comes back and track RTP sequence gaps per SSRC.

use std::collections::HashMap;
use std::io::ErrorKind;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use socket2::{Domain, Socket, Type};
use softacd::media::rfc4733::DtmfSender;
use softacd::media::rtcp;
use softacd::media::rtp::{self, RtpSender};

use crate::measure::{Histogram, Report};

const TICK: Duration = Duration::from_millis(20);
/// Ticks between one stream's key presses (5 s).
const DIGIT_EVERY: u64 = 250;
const DTMF_PT: u8 = 101;
const RX_THREADS: usize = 2;
/// Kernel receive buffer per generator socket (rmem_max here is 4 MiB).
const RCVBUF: usize = 4 << 20;

pub struct GeneratorConfig {
    sockets: usize,
}

impl GeneratorConfig {
    /// About 160 streams per generator socket, 2..=64 sockets.
    pub fn for_streams(n: usize) -> GeneratorConfig {
        GeneratorConfig {
            sockets: (n / 160).clamp(RX_THREADS, 64),
        }
    }

    pub fn bind(&self) -> Result<GenSockets, String> {
        let mut sockets = Vec::new();
        for _ in 0..self.sockets {
            let s = Socket::new(Domain::IPV4, Type::DGRAM, None).map_err(|e| e.to_string())?;
            // Best effort: a smaller buffer only makes the run stricter.
            let _ = s.set_recv_buffer_size(RCVBUF);
            let any: SocketAddr = (crate::LO, 0).into();
            s.bind(&any.into())
                .map_err(|e| format!("generator bind: {e}"))?;
            s.set_nonblocking(true).map_err(|e| e.to_string())?;
            sockets.push(UdpSocket::from(s));
        }
        let addrs = sockets
            .iter()
            .map(|s| s.local_addr().map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        Ok(GenSockets { sockets, addrs })
    }
}

pub struct GenSockets {
    sockets: Vec<UdpSocket>,
    addrs: Vec<SocketAddr>,
}

impl GenSockets {
    /// The generator address stream `i` sends from.
    pub fn addr_for(&self, i: usize) -> SocketAddr {
        self.addrs[i % self.addrs.len()]
    }
}

struct Shared {
    stop: AtomicBool,
    measuring: AtomicBool,
    digits_sent: AtomicU64,
}

pub struct Generator {
    shared: Arc<Shared>,
    tx: Option<JoinHandle<()>>,
    rx: Vec<JoinHandle<RxResult>>,
}

impl Generator {
    /// Start sending to `targets` (stream `i` from socket `i % sockets`).
    pub fn start(
        s: GenSockets,
        targets: Vec<SocketAddr>,
        digits: bool,
    ) -> Result<Generator, String> {
        let shared = Arc::new(Shared {
            stop: AtomicBool::new(false),
            measuring: AtomicBool::new(false),
            digits_sent: AtomicU64::new(0),
        });
        let mut rx = Vec::new();
        for k in 0..RX_THREADS {
            let mine = s
                .sockets
                .iter()
                .skip(k)
                .step_by(RX_THREADS)
                .map(|x| x.try_clone().map_err(|e| e.to_string()))
                .collect::<Result<Vec<_>, _>>()?;
            let sh = shared.clone();
            let h = std::thread::Builder::new()
                .name(format!("gen-rx-{k}"))
                .spawn(move || receive(mine, &sh))
                .map_err(|e| e.to_string())?;
            rx.push(h);
        }
        let sh = shared.clone();
        let tx = std::thread::Builder::new()
            .name("gen-tx".into())
            .spawn(move || transmit(s.sockets, targets, digits, &sh))
            .map_err(|e| e.to_string())?;
        Ok(Generator {
            shared,
            tx: Some(tx),
            rx,
        })
    }

    pub fn begin_measuring(&self) {
        self.shared.measuring.store(true, Ordering::Relaxed);
    }

    /// Stop sending and receiving; the window's figures and digits sent.
    pub fn finish(mut self) -> (Report, u64) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(tx) = self.tx.take() {
            let _ = tx.join();
        }
        let mut report = Report::default();
        for h in self.rx.drain(..) {
            if let Ok(r) = h.join() {
                report.streams_seen += r.streams.len();
                report.hist.merge(&r.hist);
                for st in r.streams.values() {
                    report.packets += st.count;
                    if let (Some(first), Some(max)) = (st.first, st.max) {
                        report.lost += i64::from(max - first + 1) - st.count as i64;
                    }
                }
            }
        }
        (report, self.shared.digits_sent.load(Ordering::Relaxed))
    }
}

fn transmit(sockets: Vec<UdpSocket>, targets: Vec<SocketAddr>, digits: bool, sh: &Shared) {
    let mut numbering: Vec<RtpSender> = (0..targets.len())
        .map(|i| RtpSender::new(i as u32 + 1, 0, (i * 7) as u16, (i * 160) as u32))
        .collect();
    let mut buf = [0u8; 256];
    let audio = [0xffu8; 160];
    let keys: Vec<char> = "0123456789*#".chars().collect();
    let mut next = Instant::now();
    let mut tick: u64 = 0;
    while !sh.stop.load(Ordering::Relaxed) {
        for (i, to) in targets.iter().enumerate() {
            let sock = &sockets[i % sockets.len()];
            let num = &mut numbering[i];
            if digits && (tick + i as u64) % DIGIT_EVERY == DIGIT_EVERY - 1 {
                let key = keys[(tick as usize / DIGIT_EVERY as usize + i) % keys.len()];
                press(sock, *to, num, key, &mut buf);
                sh.digits_sent.fetch_add(1, Ordering::Relaxed);
            }
            let h = num.next_audio(160);
            if let Ok(n) = rtp::write_packet(&h, &audio, &mut buf) {
                let _ = sock.send_to(&buf[..n], to);
            }
        }
        tick += 1;
        next += TICK;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else if now - next > TICK * 10 {
            next = now;
        }
    }
}

/// A whole key press (RFC 4733 start, updates, three end packets).
fn press(sock: &UdpSocket, to: SocketAddr, num: &mut RtpSender, key: char, buf: &mut [u8]) {
    let Ok(events) = DtmfSender::new(key, num.timestamp(), 800, 10) else {
        return;
    };
    for pkt in events {
        let h = num.event_header(DTMF_PT, pkt.timestamp, pkt.marker);
        if let Ok(n) = rtp::write_packet(&h, &pkt.payload, buf) {
            let _ = sock.send_to(&buf[..n], to);
        }
    }
}

#[derive(Default)]
struct RxStream {
    last: Option<Instant>,
    /// Extended sequence numbers seen in the window.
    first: Option<u32>,
    max: Option<u32>,
    cycles: u32,
    last_seq: Option<u16>,
    count: u64,
}

struct RxResult {
    streams: HashMap<u32, RxStream>,
    hist: Histogram,
}

fn receive(sockets: Vec<UdpSocket>, sh: &Shared) -> RxResult {
    let mut r = RxResult {
        streams: HashMap::new(),
        hist: Histogram::default(),
    };
    let mut buf = [0u8; 1500];
    while !sh.stop.load(Ordering::Relaxed) {
        let mut got = 0;
        for s in &sockets {
            loop {
                match s.recv_from(&mut buf) {
                    Ok((n, _)) => {
                        got += 1;
                        on_packet(&mut r, &buf[..n], sh.measuring.load(Ordering::Relaxed));
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(_) => break,
                }
            }
        }
        if got == 0 {
            std::thread::sleep(crate::measure::IDLE);
        }
    }
    r
}

fn on_packet(r: &mut RxResult, data: &[u8], measuring: bool) {
    if rtcp::is_rtcp(data) {
        return;
    }
    let Ok(p) = rtp::parse(data) else {
        return;
    };
    if p.header.payload_type == DTMF_PT {
        return; // echoed key presses are bursts, not paced audio
    }
    let now = Instant::now();
    let st = r.streams.entry(p.header.ssrc).or_default();
    let seq = p.header.sequence;
    if let Some(prev) = st.last_seq {
        if seq < prev && prev - seq > 0x8000 {
            st.cycles += 1 << 16;
        }
    }
    st.last_seq = Some(seq);
    if measuring {
        let ext = st.cycles | u32::from(seq);
        st.first = Some(st.first.map_or(ext, |f| f.min(ext)));
        st.max = Some(st.max.map_or(ext, |m| m.max(ext)));
        st.count += 1;
        if let Some(last) = st.last {
            let gap = now.duration_since(last).as_micros() as i64;
            r.hist.add((gap - TICK.as_micros() as i64).unsigned_abs());
        }
    }
    st.last = Some(now);
}
