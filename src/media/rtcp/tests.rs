use super::*;

fn block() -> ReportBlock {
    ReportBlock {
        ssrc: 0xdead_beef,
        fraction_lost: 64,
        cumulative_lost: -3,
        highest_seq: 0x0001_0005,
        jitter: 77,
        lsr: 0x1234_5678,
        dlsr: 65536,
    }
}

#[test]
fn sender_report_round_trips_with_sdes_cname() {
    let mut buf = [0u8; 256];
    let info = SenderInfo {
        ntp: 0x0102_0304_0506_0708,
        rtp_timestamp: 160,
        packets: 50,
        octets: 8000,
    };
    let n = write_report(&mut buf, 42, Some(info), Some(block()), "ivr@127.0.0.1").unwrap();
    assert_eq!(n % 4, 0, "compound is 32-bit aligned");
    assert_eq!(buf[1], PT_SR);
    assert_eq!(buf[0], 0x81, "V=2, one report block");
    let sdes_at = 4 + 24 + 24;
    assert_eq!(buf[sdes_at + 1], PT_SDES);
    assert_eq!(&buf[sdes_at + 10..sdes_at + 23], b"ivr@127.0.0.1");
    let r = parse(&buf[..n]).unwrap();
    assert_eq!(r.ssrc, 42);
    assert_eq!(r.sender, Some(info));
    assert_eq!(r.block, Some(block()), "negative 24-bit loss survives");
    assert!(is_rtcp(&buf[..n]));
}

#[test]
fn receiver_report_without_blocks_when_nothing_received() {
    let mut buf = [0u8; 64];
    let n = write_report(&mut buf, 7, None, None, "x").unwrap();
    assert_eq!(buf[1], PT_RR);
    let r = parse(&buf[..n]).unwrap();
    assert_eq!((r.ssrc, r.sender, r.block), (7, None, None));
}

#[test]
fn malformed_compounds_are_errors_not_panics() {
    let mut buf = [0u8; 128];
    let n = write_report(&mut buf, 7, None, Some(block()), "cname").unwrap();
    let rr_len = 4 + 4 + 24;
    for cut in (0..n).filter(|&c| c != rr_len) {
        assert!(parse(&buf[..cut]).is_err(), "truncated at {cut}");
    }
    assert!(
        parse(&buf[..rr_len]).is_ok(),
        "an RR alone is a whole compound"
    );
    let mut sdes_first = buf;
    sdes_first[1] = PT_SDES;
    assert_eq!(parse(&sdes_first[..n]), Err(RtcpError::NotReport(PT_SDES)));
    let mut v1 = buf;
    v1[0] = 0x41;
    assert_eq!(parse(&v1[..n]), Err(RtcpError::Version(1)));
    assert!(matches!(
        write_report(&mut [0u8; 20], 7, None, Some(block()), "c"),
        Err(RtcpError::BufferTooSmall(20))
    ));
}

#[test]
fn rtp_and_rtcp_are_told_apart_on_a_muxed_port() {
    // RTP PCMU (PT 0), telephone-event with marker (PT 101 | 0x80 = 229).
    assert!(!is_rtcp(&[0x80, 0x00, 0, 1]));
    assert!(!is_rtcp(&[0x80, 0xe5, 0, 1]));
    assert!(!is_rtcp(&[0x80, 0x7f, 0, 1]), "PT 127 without marker");
    assert!(is_rtcp(&[0x80, 200, 0, 1]));
    assert!(is_rtcp(&[0x80, 223, 0, 1]));
    assert!(!is_rtcp(&[0x80, 224, 0, 1]));
    assert!(!is_rtcp(&[0x00, 200, 0, 1]), "version 0");
    assert!(!is_rtcp(&[0x80]));
}

#[test]
fn loss_and_fraction_lost_from_sequence_gaps() {
    let mut s = ReceiverStats::default();
    assert_eq!(s.report_block(0), None);
    // 10 packets expected (seq 65530..=3, wrapping), 2 missing.
    for seq in [65530u16, 65531, 65533, 65534, 65535, 0, 2, 3] {
        s.on_rtp(9, seq, 0, 0);
    }
    let b = s.report_block(0).unwrap();
    assert_eq!(b.ssrc, 9);
    assert_eq!(b.cumulative_lost, 2);
    assert_eq!(b.fraction_lost, (2 * 256 / 10) as u8);
    assert_eq!(b.highest_seq, 0x0001_0003, "one wrap counted");
    for seq in 4..=13u16 {
        s.on_rtp(9, seq, 0, 0);
    }
    let b = s.report_block(0).unwrap();
    assert_eq!(
        (b.fraction_lost, b.cumulative_lost),
        (0, 2),
        "none lost since"
    );
}

#[test]
fn jitter_follows_rfc3550_a8_and_is_zero_for_perfect_pacing() {
    let mut s = ReceiverStats::default();
    for k in 0..50u32 {
        s.on_rtp(1, k as u16, k * 160, 1000 + k * 160);
    }
    assert_eq!(s.jitter(), 0);
    // Every packet alternately 40 samples late: |D| = 40 each time, so J
    // converges toward 40 from below.
    let mut t = ReceiverStats::default();
    for k in 0..400u32 {
        t.on_rtp(1, k as u16, k * 160, k * 160 + (k % 2) * 40);
    }
    assert!((36..=40).contains(&t.jitter()), "jitter {}", t.jitter());
}

#[test]
fn lsr_and_dlsr_come_from_the_peer_sender_report() {
    let mut s = ReceiverStats::default();
    s.on_rtp(1, 1, 0, 0);
    s.on_sender_report(0xaaaa_bbbb_cccc_dddd, 1000);
    let b = s.report_block(1500).unwrap();
    assert_eq!(b.lsr, 0xbbbb_cccc);
    assert_eq!(b.dlsr, 32768, "0.5 s in 1/65536 s");
}

#[test]
fn report_timer_fires_every_interval() {
    let mut t = ReportTimer::default();
    assert!(!t.due(100));
    assert!(!t.due(100 + REPORT_INTERVAL_MS - 1));
    assert!(t.due(100 + REPORT_INTERVAL_MS));
    assert!(!t.due(100 + REPORT_INTERVAL_MS + 20));
    assert!(t.due(100 + 2 * REPORT_INTERVAL_MS));
}
