#!/usr/bin/env bash
# Concurrent IVR media streams on this machine (issue 4): the Rust load tool
# softacd-rtpload (src/bin/softacd-rtpload/) opens N IVR streams through the
# media runtime (no SIP), each playing hold music as PCMU every 20 ms with
# RFC 4733 detection on, drives them with an in-process generator (G.711
# every 20 ms, a key press per stream every 5 s), and runs a plain RTP echo
# loop on the same socket kind for the same N as the baseline. One line per
# (mode, N): p50/p99/max |gap - 20 ms| of the server's packets, loss, CPU%
# of the server threads, RSS per stream, digits detected/sent, PASS when
# p99 <= 2 ms, zero loss and every stream heard.
#   sip-tests/load/ivr_media.sh                        # default ramp
#   STREAMS=1000,5000,10000 SECONDS=10 THREADS=2 sip-tests/load/ivr_media.sh
#   INBAND=1 MODE=ivr sip-tests/load/ivr_media.sh        # in-band detection on too
# Bounded: at most 12,000 streams, 120 s per step; binds 127.0.0.1 only.
set -euo pipefail
cd "$(dirname "$0")/../.."
STREAMS=${STREAMS:-500,1000,2000,4000,6000,8000,10000}
SECONDS_PER_STEP=${SECONDS:-10}
THREADS=${THREADS:-0}
MODE=${MODE:-both}
INBAND=${INBAND:-0}   # 1: the in-band DTMF detector runs on every IVR stream too
# One socket per stream with rtcp-mux, plus the generator's few.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
echo "# $(uname -sr), $(nproc) cores (shared), fd limit $(ulimit -n)"
cargo build --release --quiet --bin softacd-rtpload
"${CARGO_TARGET_DIR:-target}/release/softacd-rtpload" \
  --streams "$STREAMS" --seconds "$SECONDS_PER_STEP" --threads "$THREADS" --mode "$MODE" --media media \
  $([ "$INBAND" = 1 ] && echo --inband)
