//! Parse benchmark (criterion): a typical ~800-byte INVITE with SDP and a
//! REGISTER, each through the full ingress path (`check_datagram`: split,
//! parse, RFC 3261 §8.2 checks, body by Content-Length).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use softacd::sip::ingress::{check_datagram, Ingress};

const SDP: &str = "v=0\r\n\
o=alice 2890844526 2890844526 IN IP4 198.51.100.17\r\n\
s=-\r\n\
c=IN IP4 198.51.100.17\r\n\
t=0 0\r\n\
m=audio 49170 RTP/AVP 0 8 101\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=rtpmap:8 PCMA/8000\r\n\
a=rtpmap:101 telephone-event/8000\r\n\
a=fmtp:101 0-15\r\n\
a=ptime:20\r\n\
a=sendrecv\r\n";

fn invite() -> Vec<u8> {
    format!(
        "INVITE sip:4000@acd.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 198.51.100.17:5060;branch=z9hG4bK74bf9a1c8e;rport\r\n\
Max-Forwards: 70\r\n\
From: \"Alice Caller\" <sip:+15551230001@trunk.example.net>;tag=9fxced76sl\r\n\
To: <sip:4000@acd.example.com>\r\n\
Call-ID: 3848276298220188511@198.51.100.17\r\n\
CSeq: 1 INVITE\r\n\
Contact: <sip:+15551230001@198.51.100.17:5060;transport=udp>\r\n\
Record-Route: <sip:sbc1.example.net;lr>\r\n\
Allow: INVITE, ACK, CANCEL, OPTIONS, BYE, REFER, NOTIFY, INFO, UPDATE\r\n\
Supported: replaces, timer\r\n\
Session-Expires: 1800;refresher=uac\r\n\
User-Agent: ExampleTrunk/4.2\r\n\
P-Asserted-Identity: \"Alice Caller\" <sip:+15551230001@trunk.example.net>\r\n\
Content-Type: application/sdp\r\n\
Content-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
    .into_bytes()
}

fn register() -> Vec<u8> {
    b"REGISTER sip:acd.example.com SIP/2.0\r\n\
Via: SIP/2.0/UDP 192.0.2.44:5062;branch=z9hG4bKnashds7;rport\r\n\
Max-Forwards: 70\r\n\
From: <sip:agent1001@acd.example.com>;tag=a73kszlfl\r\n\
To: <sip:agent1001@acd.example.com>\r\n\
Call-ID: 1j9FpLxk3uxtm8tn@192.0.2.44\r\n\
CSeq: 17 REGISTER\r\n\
Contact: <sip:agent1001@192.0.2.44:5062>;expires=3600\r\n\
User-Agent: DeskPhone/1.0\r\n\
Content-Length: 0\r\n\r\n"
        .to_vec()
}

fn bench(c: &mut Criterion) {
    let invite = invite();
    let register = register();
    assert!(matches!(check_datagram(&invite), Ingress::Accept(_)));
    assert!(matches!(check_datagram(&register), Ingress::Accept(_)));
    c.bench_function(
        &format!("check_datagram INVITE {} bytes", invite.len()),
        |b| b.iter(|| check_datagram(black_box(&invite))),
    );
    c.bench_function(
        &format!("check_datagram REGISTER {} bytes", register.len()),
        |b| b.iter(|| check_datagram(black_box(&register))),
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
