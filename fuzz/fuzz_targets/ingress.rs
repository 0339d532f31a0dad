//! Fuzz target for the SIP ingress path (RFC 3261 §18 receive side): any
//! bytes given to `check_datagram`, `check_stream_message` or the TCP
//! `StreamFramer` must produce an outcome, never a panic. An accepted
//! message must survive a round trip through `to_bytes` and the parser.
#![no_main]

use libfuzzer_sys::fuzz_target;
use softacd::sip::framing::StreamFramer;
use softacd::sip::ingress::{check_datagram, check_stream_message, Ingress};
use softacd::sip::parse_message;

fuzz_target!(|data: &[u8]| {
    if let Ingress::Accept(msg) = check_datagram(data) {
        assert!(parse_message(&msg.to_bytes()).is_ok(), "accepted message does not re-parse");
    }
    let _ = check_stream_message(data);
    // Feed the stream in two pieces, split where the first byte says.
    let cut = data.first().map_or(0, |b| usize::from(*b)).min(data.len());
    let mut framer = StreamFramer::new(4096);
    for piece in [&data[..cut], &data[cut..]] {
        framer.push(piece);
        while let Ok(Some(_)) = framer.next() {}
    }
});
