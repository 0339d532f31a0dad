//! Tests for `media::sdp`: real-world offers, RFC 3264 answers, late offer,
//! refusals with their SIP status, and junk that must not panic.

use super::*;

const LINPHONE: &str = "v=0\r\no=alice 1234 5678 IN IP4 192.168.1.10\r\ns=Talk\r\n\
c=IN IP4 192.168.1.10\r\nt=0 0\r\n\
m=audio 7078 RTP/AVP 96 97 0 8 18 101 99\r\na=rtpmap:96 opus/48000/2\r\n\
a=fmtp:96 useinbandfec=1\r\na=rtpmap:97 speex/16000\r\na=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\na=rtpmap:99 telephone-event/48000\r\na=fmtp:18 annexb=no\r\n\
m=video 9078 RTP/AVP 96 97\r\na=rtpmap:96 VP8/90000\r\na=rtpmap:97 H264/90000\r\n";

fn local() -> LocalMedia {
    LocalMedia {
        address: "10.0.0.5".parse().unwrap(),
        port: 30000,
        session_id: 42,
        session_version: 1,
    }
}

fn audio_only(mline: &str, extra: &str) -> String {
    format!(
        "v=0\r\no=- 1 1 IN IP4 10.1.1.1\r\ns=-\r\nc=IN IP4 10.1.1.1\r\nt=0 0\r\n{mline}\r\n{extra}"
    )
}

#[test]
fn reads_a_softphone_offer_with_video() {
    let o = parse_offer(LINPHONE.as_bytes()).unwrap();
    assert_eq!(o.connection, "192.168.1.10".parse::<IpAddr>().unwrap());
    assert_eq!(o.audio_port, 7078);
    assert_eq!(o.payload_types, [96, 97, 0, 8, 18, 101, 99]);
    assert_eq!(o.rtpmaps.len(), 4);
    assert_eq!(
        o.telephone_event,
        Some(TelephoneEventFormat {
            payload_type: 101,
            events: Some("0-15".into())
        })
    );
    assert!(o.has_video);
    assert_eq!(o.ptime, None);
    assert_eq!(o.direction, Direction::SendRecv);
}

#[test]
fn answer_takes_the_offerers_first_g711_and_refuses_video() {
    let o = parse_offer(LINPHONE.as_bytes()).unwrap();
    let (neg, answer) = build_answer(&o, &local()).unwrap();
    assert_eq!(neg.codec, Codec::Pcmu);
    assert_eq!(neg.payload_type, 0);
    assert_eq!(neg.telephone_event_pt, Some(101));
    assert_eq!(neg.remote, "192.168.1.10:7078".parse().unwrap());
    assert_eq!(neg.ptime_ms, 20);
    assert!(
        answer.contains("m=audio 30000 RTP/AVP 0 101\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=rtpmap:0 PCMU/8000\r\n"), "{answer}");
    assert!(answer.contains("a=fmtp:101 0-15\r\n"), "{answer}");
    assert!(answer.contains("m=video 0 RTP/AVP 96 97\r\n"), "{answer}");
    assert!(answer.contains("c=IN IP4 10.0.0.5\r\n"), "{answer}");
    assert!(
        answer.contains("o=softacd 42 1 IN IP4 10.0.0.5\r\n"),
        "{answer}"
    );
    // The answer is itself valid SDP that negotiates to the same thing.
    let back = parse_offer(answer.as_bytes()).unwrap();
    assert_eq!(back.payload_types, [0, 101]);
    assert!(!back.has_video);
    assert_eq!(back.negotiate().unwrap().codec, Codec::Pcmu);
}

#[test]
fn offerer_order_decides_between_pcma_and_pcmu() {
    let o = parse_offer(
        audio_only(
            "m=audio 4000 RTP/AVP 8 0 101",
            "a=rtpmap:101 telephone-event/8000\r\n",
        )
        .as_bytes(),
    )
    .unwrap();
    let (neg, answer) = build_answer(&o, &local()).unwrap();
    assert_eq!((neg.codec, neg.payload_type), (Codec::Pcma, 8));
    assert!(
        answer.contains("m=audio 30000 RTP/AVP 8 101\r\n"),
        "{answer}"
    );
}

#[test]
fn rtpmap_decides_over_static_numbers() {
    let dynamic = audio_only("m=audio 4000 RTP/AVP 110", "a=rtpmap:110 pcma/8000\r\n");
    let neg = parse_offer(dynamic.as_bytes())
        .unwrap()
        .negotiate()
        .unwrap();
    assert_eq!((neg.codec, neg.payload_type), (Codec::Pcma, 110));
    let remapped = audio_only("m=audio 4000 RTP/AVP 0", "a=rtpmap:0 G729/8000\r\n");
    let err = parse_offer(remapped.as_bytes())
        .unwrap()
        .negotiate()
        .unwrap_err();
    assert_eq!(err, SdpError::NoCommonCodec);
}

#[test]
fn no_common_codec_is_a_488() {
    let o = audio_only("m=audio 4000 RTP/AVP 96 18", "a=rtpmap:96 opus/48000/2\r\n");
    let err = build_answer(&parse_offer(o.as_bytes()).unwrap(), &local()).unwrap_err();
    assert_eq!(err, SdpError::NoCommonCodec);
    assert_eq!(err.sip_status(), 488);
}

#[test]
fn telephone_event_needs_8khz_and_a_place_on_the_m_line() {
    let wideband = audio_only(
        "m=audio 4000 RTP/AVP 0 99",
        "a=rtpmap:99 telephone-event/48000\r\n",
    );
    let o = parse_offer(wideband.as_bytes()).unwrap();
    assert_eq!(o.telephone_event, None);
    assert_eq!(o.negotiate().unwrap().telephone_event_pt, None);
    let unlisted = audio_only(
        "m=audio 4000 RTP/AVP 0",
        "a=rtpmap:101 telephone-event/8000\r\n",
    );
    let neg = parse_offer(unlisted.as_bytes())
        .unwrap()
        .negotiate()
        .unwrap();
    assert_eq!(neg.telephone_event_pt, None);
}

#[test]
fn media_connection_ptime_and_direction_are_read() {
    let o = audio_only(
        "m=audio 4000 RTP/AVP 0",
        "c=IN IP4 10.9.9.9\r\na=ptime:30\r\na=sendonly\r\n",
    );
    let o = parse_offer(o.as_bytes()).unwrap();
    assert_eq!(o.connection, "10.9.9.9".parse::<IpAddr>().unwrap());
    assert_eq!(o.ptime, Some(30));
    assert_eq!(o.direction, Direction::SendOnly);
    let (neg, answer) = build_answer(&o, &local()).unwrap();
    assert_eq!(neg.direction, Direction::RecvOnly);
    // 30 ms is not a multiple of the IVR's 20 ms tick: we send and answer 20.
    assert_eq!(neg.ptime_ms, 20);
    assert!(answer.contains("a=recvonly\r\n"), "{answer}");
    assert!(answer.contains("a=ptime:20\r\n"), "{answer}");
}

#[test]
fn a_supported_ptime_is_honoured_in_the_answer() {
    for (offered, used) in [
        (Some(40), 40),
        (Some(60), 60),
        (Some(20), 20),
        (Some(10), 20),
        (Some(25), 20),
        (None, 20),
    ] {
        assert_eq!(answer_ptime(offered), used, "{offered:?}");
    }
    let o = audio_only(
        "m=audio 4000 RTP/AVP 0",
        "c=IN IP4 10.9.9.9\r\na=ptime:40\r\n",
    );
    let (neg, answer) = build_answer(&parse_offer(o.as_bytes()).unwrap(), &local()).unwrap();
    assert_eq!(neg.ptime_ms, 40);
    assert!(answer.contains("a=ptime:40\r\n"), "{answer}");
}

#[test]
fn session_level_direction_and_ipv6_and_lf_only_lines() {
    let o = "v=0\no=- 1 1 IN IP6 ::1\ns=-\nc=IN IP6 2001:db8::7\nt=0 0\na=inactive\nm=audio 4000 RTP/AVP 0\n";
    let o = parse_offer(o.as_bytes()).unwrap();
    assert_eq!(o.direction, Direction::Inactive);
    assert_eq!(
        o.negotiate().unwrap().remote,
        "[2001:db8::7]:4000".parse().unwrap()
    );
}

#[test]
fn refusals_name_the_cause_and_the_sip_status() {
    let cases: Vec<(String, SdpError, u16)> = vec![
        (
            audio_only("m=video 4000 RTP/AVP 31", ""),
            SdpError::NoAudio,
            488,
        ),
        (
            audio_only("m=audio 0 RTP/AVP 0", ""),
            SdpError::NoAudio,
            488,
        ),
        (
            audio_only("m=audio 4000 RTP/SAVP 0", ""),
            SdpError::UnsupportedTransport("RTP/SAVP".into()),
            488,
        ),
        (
            audio_only("m=audio 4000 RTP/AVP 0 abc", ""),
            SdpError::BadFormat("abc".into()),
            400,
        ),
        (
            audio_only("m=audio 4000 RTP/AVP 0 200", ""),
            SdpError::BadFormat("200".into()),
            400,
        ),
        (
            "v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n".into(),
            SdpError::NoConnection,
            400,
        ),
        (
            audio_only("m=audio 4000 RTP/AVP 0", "c=IN IP4 host.example.com\r\n"),
            SdpError::BadConnection("host.example.com".into()),
            400,
        ),
        (
            audio_only("m=audio 4000 RTP/AVP 0", "c=IN IP4 224.2.1.1/127\r\n"),
            SdpError::BadConnection("224.2.1.1/127".into()),
            400,
        ),
    ];
    for (body, want, status) in cases {
        let got = parse_offer(body.as_bytes()).unwrap_err();
        assert_eq!(got, want, "{body}");
        assert_eq!(got.sip_status(), status, "{body}");
    }
    let junk = parse_offer(b"hello").unwrap_err();
    assert!(matches!(junk, SdpError::Syntax(_)) && junk.sip_status() == 400);
    let big = vec![b'a'; MAX_SDP_LEN + 1];
    assert_eq!(parse_offer(&big), Err(SdpError::TooLarge(MAX_SDP_LEN + 1)));
    let many = audio_only(&format!("m=audio 4000 RTP/AVP {}", "0 ".repeat(40)), "");
    assert_eq!(parse_offer(many.as_bytes()), Err(SdpError::TooManyFormats));
}

#[test]
fn our_offer_reads_back_and_serves_a_late_offer_flow() {
    let offer = build_offer(&local());
    let o = parse_offer(offer.as_bytes()).unwrap();
    assert_eq!(o.payload_types, [0, 8, 101]);
    assert_eq!(o.ptime, Some(20));
    assert_eq!(o.direction, Direction::SendRecv);
    assert_eq!(o.telephone_event.map(|t| t.payload_type), Some(101));
    assert_eq!(o.connection, local().address);
    // RFC 3261 §13.2.1: the offer went in our 200 OK, the answer is in ACK.
    let ack_answer = audio_only(
        "m=audio 5000 RTP/AVP 8 101",
        "a=rtpmap:101 telephone-event/8000\r\n",
    );
    let neg = parse_offer(ack_answer.as_bytes())
        .unwrap()
        .negotiate()
        .unwrap();
    assert_eq!(
        (neg.codec, neg.telephone_event_pt),
        (Codec::Pcma, Some(101))
    );
    assert_eq!(neg.remote, "10.1.1.1:5000".parse().unwrap());
}

#[test]
fn mutated_offers_never_panic() {
    let base = LINPHONE.as_bytes();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..3000 {
        let mut buf = base.to_vec();
        for _ in 0..3 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let i = (x as usize) % buf.len();
            buf[i] = (x >> 32) as u8;
        }
        if let Ok(o) = parse_offer(&buf) {
            let _ = build_answer(&o, &local());
        }
    }
}

const ALL_FOUR: [Codec; 4] = [Codec::Pcmu, Codec::Pcma, Codec::G722, Codec::Opus];

#[test]
fn opus_first_is_taken_with_the_48khz_telephone_event() {
    let o = parse_offer(LINPHONE.as_bytes()).unwrap();
    let (neg, answer) = build_answer_with(&o, &local(), &ALL_FOUR).unwrap();
    assert_eq!((neg.codec, neg.payload_type), (Codec::Opus, 96));
    assert_eq!(
        neg.telephone_event_pt,
        Some(99),
        "RFC 4733: clock must match"
    );
    assert!(
        answer.contains("m=audio 30000 RTP/AVP 96 99\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=rtpmap:96 opus/48000/2\r\n"), "{answer}");
    assert!(
        answer.contains("a=rtpmap:99 telephone-event/48000\r\n"),
        "{answer}"
    );
}

#[test]
fn g722_first_is_taken_with_the_8khz_telephone_event() {
    let o = audio_only(
        "m=audio 4000 RTP/AVP 9 0 101 102",
        "a=rtpmap:9 G722/8000\r\na=rtpmap:101 telephone-event/8000\r\n\
         a=rtpmap:102 telephone-event/48000\r\n",
    );
    let o = parse_offer(o.as_bytes()).unwrap();
    let (neg, answer) = build_answer_with(&o, &local(), &ALL_FOUR).unwrap();
    assert_eq!((neg.codec, neg.payload_type), (Codec::G722, 9));
    assert_eq!(neg.telephone_event_pt, Some(101));
    assert!(
        answer.contains("m=audio 30000 RTP/AVP 9 101\r\n"),
        "{answer}"
    );
    assert!(answer.contains("a=rtpmap:9 G722/8000\r\n"), "{answer}");
    // A static 9 without rtpmap is G.722 too (RFC 3551 table 4).
    let bare = parse_offer(audio_only("m=audio 4000 RTP/AVP 9", "").as_bytes()).unwrap();
    assert_eq!(bare.negotiate_with(&ALL_FOUR).unwrap().codec, Codec::G722);
}

#[test]
fn our_codec_list_limits_the_answer_and_the_default_stays_g711() {
    let o = parse_offer(LINPHONE.as_bytes()).unwrap();
    assert_eq!(o.negotiate().unwrap().codec, Codec::Pcmu);
    let only_g722 = o.negotiate_with(&[Codec::G722]).unwrap_err();
    assert_eq!(only_g722, SdpError::NoCommonCodec);
    let pcma = o.negotiate_with(&[Codec::Pcma, Codec::Opus]).unwrap();
    assert_eq!(pcma.codec, Codec::Opus, "the offerer's order decides");
    // opus at a wrong clock rate is not Opus (RFC 7587 §7).
    let wrong = audio_only("m=audio 4000 RTP/AVP 96", "a=rtpmap:96 opus/16000\r\n");
    let wrong = parse_offer(wrong.as_bytes()).unwrap();
    assert_eq!(
        wrong.negotiate_with(&ALL_FOUR).unwrap_err(),
        SdpError::NoCommonCodec
    );
}

#[test]
fn our_offer_lists_our_codecs_in_order_with_both_telephone_events() {
    let offer = build_offer_with(&local(), &[Codec::G722, Codec::Opus, Codec::Pcmu]);
    assert!(
        offer.contains("m=audio 30000 RTP/AVP 9 111 0 101 102\r\n"),
        "{offer}"
    );
    assert!(offer.contains("a=rtpmap:111 opus/48000/2\r\n"), "{offer}");
    assert!(offer.contains("a=rtpmap:102 telephone-event/48000\r\n"));
    let back = parse_offer(offer.as_bytes()).unwrap();
    let neg = back.negotiate_with(&ALL_FOUR).unwrap();
    assert_eq!(
        (neg.codec, neg.telephone_event_pt),
        (Codec::G722, Some(101))
    );
    let g711 = build_offer_with(&local(), &Codec::ALL);
    assert!(!g711.contains("telephone-event/48000"), "{g711}");
}

#[test]
fn rtcp_mux_is_answered_only_when_offered() {
    let muxed =
        parse_offer(audio_only("m=audio 4000 RTP/AVP 0", "a=rtcp-mux\r\n").as_bytes()).unwrap();
    assert!(muxed.rtcp_mux);
    let (_, answer) = build_answer(&muxed, &local()).unwrap();
    assert!(answer.contains("a=rtcp-mux\r\n"), "{answer}");
    let plain = parse_offer(audio_only("m=audio 4000 RTP/AVP 0", "").as_bytes()).unwrap();
    assert!(!plain.rtcp_mux);
    let (_, answer) = build_answer(&plain, &local()).unwrap();
    assert!(!answer.contains("rtcp-mux"), "{answer}");
}
