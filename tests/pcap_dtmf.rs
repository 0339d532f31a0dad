//! Checks the RTP captures under `sip-tests/pcap/` (written by
//! `sip-tests/pcap/make_pcaps.py`) with our own media code: the DTMF files
//! must decode, through `media::rtp::parse` and the RFC 4733 §2.5.2
//! `DtmfReceiver`, to exactly the keys their names promise; every file must be
//! one RTP stream (RFC 3550 §5.1: one SSRC, consecutive sequence numbers) whose
//! audio packets are 20 ms of G.711 (RFC 3551: 160 samples, timestamps 160
//! apart while audio flows) and whose capture times match the RTP clock. These
//! are the keys the call-flow SIPp scenarios press (MISSION.md step 6).
//!
//! The pcap reader here is deliberately tiny: classic libpcap (microsecond,
//! either byte order), Ethernet II, IPv4 without assuming the header length,
//! UDP. Anything else is an error naming the record, never a panic.

use std::path::{Path, PathBuf};

use softacd::media::rfc4733::{DtmfReceiver, TelephoneEvent};
use softacd::media::rtp;
use thiserror::Error;

const PT_PCMU: u8 = 0;
const PT_PCMA: u8 = 8;
const PT_TELEPHONE_EVENT: u8 = 101;
const SAMPLES_PER_PACKET: u32 = 160;
/// At most this many records per file: the captures are seconds long.
const MAX_RECORDS: usize = 10_000;

/// Why a capture could not be read.
#[derive(Debug, Error)]
enum PcapError {
    #[error("pcap {file}: cannot read: {source}")]
    Io {
        file: String,
        source: std::io::Error,
    },
    #[error("pcap {file}: global header: {cause}")]
    Header { file: String, cause: String },
    #[error("pcap {file}: record {index}: {cause}")]
    Record {
        file: String,
        index: usize,
        cause: String,
    },
}

/// One captured UDP datagram: capture time (µs since the first record) and payload.
#[derive(Debug, Clone)]
struct Datagram {
    micros: u64,
    payload: Vec<u8>,
}

fn pcap_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sip-tests/pcap")
}

fn u16_be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_with(b: &[u8], at: usize, little: bool) -> Option<u32> {
    let raw: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(if little {
        u32::from_le_bytes(raw)
    } else {
        u32::from_be_bytes(raw)
    })
}

/// The UDP payload of an Ethernet II / IPv4 / UDP frame.
fn udp_payload(frame: &[u8]) -> Result<&[u8], String> {
    let ethertype = u16_be(frame, 12).ok_or("frame shorter than an Ethernet header")?;
    if ethertype != 0x0800 {
        return Err(format!("ethertype {ethertype:#06x}, expected IPv4"));
    }
    let ip = frame.get(14..).ok_or("no IPv4 header")?;
    let first = *ip.first().ok_or("empty IPv4 header")?;
    if first >> 4 != 4 {
        return Err(format!("IP version {}, expected 4", first >> 4));
    }
    let ihl = usize::from(first & 0x0F) * 4;
    if ip.get(9) != Some(&17) {
        return Err("IPv4 protocol is not UDP".into());
    }
    let udp = ip.get(ihl..).ok_or("IPv4 header overruns the frame")?;
    let udp_len = usize::from(u16_be(udp, 4).ok_or("short UDP header")?);
    udp.get(8..udp_len)
        .ok_or_else(|| format!("UDP length {udp_len} overruns the frame"))
}

/// Reads every record of a classic pcap file with LINKTYPE_ETHERNET.
fn read_pcap(path: &Path) -> Result<Vec<Datagram>, PcapError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| PcapError::Io {
        file: file.clone(),
        source,
    })?;
    let header = |cause: &str| PcapError::Header {
        file: file.clone(),
        cause: cause.into(),
    };
    let little = match bytes.get(..4) {
        Some([0xD4, 0xC3, 0xB2, 0xA1]) => true,
        Some([0xA1, 0xB2, 0xC3, 0xD4]) => false,
        _ => return Err(header("not a microsecond libpcap file")),
    };
    let linktype = u32_with(&bytes, 20, little).ok_or_else(|| header("truncated"))?;
    if linktype != 1 {
        return Err(header(&format!(
            "link type {linktype}, expected 1 (Ethernet)"
        )));
    }
    parse_records(&file, &bytes, little)
}

fn parse_records(file: &str, bytes: &[u8], little: bool) -> Result<Vec<Datagram>, PcapError> {
    let mut out = Vec::new();
    let mut at = 24;
    let mut first_micros = None;
    while at < bytes.len() {
        let index = out.len();
        let err = |cause: String| PcapError::Record {
            file: file.into(),
            index,
            cause,
        };
        if index >= MAX_RECORDS {
            return Err(err(format!("more than {MAX_RECORDS} records")));
        }
        let field = |k: usize| u32_with(bytes, at + 4 * k, little);
        let (Some(sec), Some(usec), Some(incl)) = (field(0), field(1), field(2)) else {
            return Err(err("truncated record header".into()));
        };
        let start = at + 16;
        let frame = bytes
            .get(start..start + incl as usize)
            .ok_or_else(|| err(format!("captured length {incl} overruns the file")))?;
        let micros = u64::from(sec) * 1_000_000 + u64::from(usec);
        let base = *first_micros.get_or_insert(micros);
        let payload = udp_payload(frame).map_err(err)?.to_vec();
        out.push(Datagram {
            micros: micros.saturating_sub(base),
            payload,
        });
        at = start + incl as usize;
    }
    Ok(out)
}

/// Reads `sip-tests/pcap/<name>`, failing the test with the reader's error.
fn capture(name: &str) -> Vec<Datagram> {
    match read_pcap(&pcap_dir().join(name)) {
        Ok(d) => d,
        Err(e) => panic!("{e} (regenerate with python3 sip-tests/pcap/make_pcaps.py)"),
    }
}

/// The keys the telephone-event packets of a capture spell, in order.
fn keys_pressed(datagrams: &[Datagram]) -> String {
    let mut rx = DtmfReceiver::new();
    let mut keys = String::new();
    for (i, d) in datagrams.iter().enumerate() {
        let pkt = rtp::parse(&d.payload).unwrap_or_else(|e| panic!("record {i}: {e}"));
        let h = pkt.header;
        if h.payload_type != PT_TELEPHONE_EVENT {
            continue;
        }
        let press = rx
            .on_packet(h.timestamp, h.sequence, h.marker, pkt.payload)
            .unwrap_or_else(|e| panic!("record {i}: {e}"));
        keys.extend(press.map(|p| p.key));
    }
    keys
}

/// One SSRC, sequence numbers +1 each, capture time = RTP clock, audio
/// packets of 160 bytes 160 samples apart; returns the audio payload types.
fn assert_one_clean_stream(name: &str, datagrams: &[Datagram]) -> Vec<u8> {
    assert!(!datagrams.is_empty(), "{name}: no packets");
    let packets: Vec<rtp::RtpPacket<'_>> = datagrams
        .iter()
        .map(|d| rtp::parse(&d.payload).unwrap_or_else(|e| panic!("{name}: {e}")))
        .collect();
    let first = packets[0].header;
    let mut audio_types = Vec::new();
    for (i, (p, d)) in packets.iter().zip(datagrams).enumerate() {
        let h = p.header;
        assert_eq!(h.ssrc, first.ssrc, "{name}: packet {i} changes SSRC");
        let expected_seq = first.sequence.wrapping_add(i as u16);
        assert_eq!(h.sequence, expected_seq, "{name}: packet {i} sequence");
        assert_eq!(
            d.micros,
            i as u64 * 20_000,
            "{name}: packet {i} not 20 ms after the previous"
        );
        if h.payload_type == PT_TELEPHONE_EVENT {
            continue;
        }
        assert_eq!(
            p.payload.len(),
            SAMPLES_PER_PACKET as usize,
            "{name}: packet {i} size"
        );
        let clock = first.timestamp.wrapping_add((d.micros / 125) as u32);
        assert_eq!(
            h.timestamp, clock,
            "{name}: packet {i} timestamp off the RTP clock"
        );
        if !audio_types.contains(&h.payload_type) {
            audio_types.push(h.payload_type);
        }
    }
    audio_types
}

#[test]
fn dtmf_captures_spell_the_keys_in_their_names() {
    for (file, keys) in [
        ("dtmf_0.pcap", "0"),
        ("dtmf_1.pcap", "1"),
        ("dtmf_1_then_0.pcap", "10"),
    ] {
        assert_eq!(keys_pressed(&capture(file)), keys, "{file}");
    }
}

#[test]
fn a_key_press_is_marker_updates_and_three_ends_over_100_ms() {
    let datagrams = capture("dtmf_0.pcap");
    let events: Vec<(rtp::RtpHeader, TelephoneEvent)> = datagrams
        .iter()
        .map(|d| rtp::parse(&d.payload).expect("rtp"))
        .filter(|p| p.header.payload_type == PT_TELEPHONE_EVENT)
        .map(|p| (p.header, TelephoneEvent::parse(p.payload).expect("event")))
        .collect();
    let durations: Vec<u16> = events.iter().map(|(_, e)| e.duration).collect();
    assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
    let ends: Vec<bool> = events.iter().map(|(_, e)| e.end).collect();
    assert_eq!(ends, [false, false, false, false, true, true, true]);
    let markers: Vec<bool> = events.iter().map(|(h, _)| h.marker).collect();
    assert_eq!(markers, [true, false, false, false, false, false, false]);
    let ts = events[0].0.timestamp;
    assert!(events
        .iter()
        .all(|(h, e)| h.timestamp == ts && e.event == 0));
}

#[test]
fn dtmf_captures_are_one_pcmu_stream_around_the_events() {
    for file in ["dtmf_0.pcap", "dtmf_1.pcap", "dtmf_1_then_0.pcap"] {
        let types = assert_one_clean_stream(file, &capture(file));
        assert_eq!(types, [PT_PCMU], "{file}: audio between the keys");
    }
}

#[test]
fn the_two_keys_are_half_a_second_apart() {
    let datagrams = capture("dtmf_1_then_0.pcap");
    let starts: Vec<u64> = datagrams
        .iter()
        .filter(|d| {
            let h = rtp::parse(&d.payload).expect("rtp").header;
            h.payload_type == PT_TELEPHONE_EVENT && h.marker
        })
        .map(|d| d.micros)
        .collect();
    assert_eq!(starts.len(), 2, "two key-downs");
    // key 1 lasts 140 ms of packets, then 500 ms of audio, then key 0
    assert_eq!(starts[1] - starts[0], 640_000);
}

#[test]
fn silence_captures_are_contiguous_g711_of_the_named_length() {
    for (file, pt, fill, packets) in [
        ("g711u_silence_2s.pcap", PT_PCMU, 0xFF, 100),
        ("g711a_silence_1s.pcap", PT_PCMA, 0xD5, 50),
    ] {
        let datagrams = capture(file);
        assert_eq!(datagrams.len(), packets, "{file}: 20 ms packets");
        assert_eq!(assert_one_clean_stream(file, &datagrams), [pt], "{file}");
        for d in &datagrams {
            let p = rtp::parse(&d.payload).expect("rtp");
            assert!(p.payload.iter().all(|b| *b == fill), "{file}: not silence");
        }
        let first = rtp::parse(&datagrams[0].payload).expect("rtp").header;
        assert!(first.marker, "{file}: the first packet starts a talkspurt");
        assert!(datagrams[1..]
            .iter()
            .all(|d| !rtp::parse(&d.payload).expect("rtp").header.marker));
    }
}

#[test]
fn the_reader_rejects_what_is_not_ethernet_ipv4_udp() {
    assert!(udp_payload(&[0u8; 10]).is_err(), "short frame");
    let mut frame = vec![0u8; 14 + 20 + 8];
    frame[12..14].copy_from_slice(&0x86DDu16.to_be_bytes());
    assert!(udp_payload(&frame).unwrap_err().contains("ethertype"));
    frame[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    frame[14] = 0x45;
    frame[14 + 9] = 6; // TCP
    assert!(udp_payload(&frame).unwrap_err().contains("UDP"));
    frame[14 + 9] = 17;
    frame[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&100u16.to_be_bytes());
    assert!(udp_payload(&frame).unwrap_err().contains("overruns"));
    frame[14 + 20 + 4..14 + 20 + 6].copy_from_slice(&8u16.to_be_bytes());
    assert_eq!(udp_payload(&frame), Ok(&[][..]));
    let truncated = parse_records("t", &[0u8; 24 + 10], true);
    assert!(matches!(truncated, Err(PcapError::Record { index: 0, .. })));
}

#[test]
fn inband_capture_holds_key_0_as_tones_and_no_events() {
    use softacd::media::dtmf_inband::InbandDetector;
    use softacd::media::Codec;
    let datagrams = capture("inband_0.pcap");
    let mut detector = InbandDetector::new();
    let mut found = Vec::new();
    for d in &datagrams {
        let pkt = rtp::parse(&d.payload).expect("RTP");
        assert_eq!(pkt.header.payload_type, PT_PCMU, "audio only, no RFC 4733");
        detector.push_g711(Codec::Pcmu, pkt.payload, &mut found);
    }
    let keys: String = found.iter().map(|f| f.key).collect();
    assert_eq!(keys, "0");
    assert_eq!(keys_pressed(&datagrams), "", "no telephone-event packets");
}
