#!/usr/bin/env bash
# Full-flow transfers per second on this machine (issue 3): a release softacd
# on loopback with SEATS generated seats (zero wrap-up), one SIPp process
# registering them all and answering every INVITE (sip-tests/call/load/
# agent_register.xml + agent_answer.xml), and SIPp callers running
# sip-tests/call/load/call_flow.xml: INVITE → IVR welcome → key 0 (RFC 4733
# from a pcap) → queue → agent answers → talk → BYE. Prints the successful
# transfer rate, failures, and DivertCall → media p50/p99 from /metrics.
#   sip-tests/load/call_flow.sh                  # relay media mode
#   MODE=direct sip-tests/load/call_flow.sh
# Needs root (SIPp's pcap play uses a raw socket). Bounded: COUNT calls, TIMEOUT s.
set -euo pipefail
cd "$(dirname "$0")/../.."
SEATS=${SEATS:-100}
COUNT=${COUNT:-600}
LIMIT=${LIMIT:-90}
RATE=${RATE:-30}
MODE=${MODE:-relay}
TIMEOUT=${TIMEOUT:-180}
PORT=${PORT:-16060}
HTTP=${HTTP:-18080}

command -v sipp >/dev/null || { echo "sipp missing: run scripts/install-deps.sh" >&2; exit 1; }
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/softacd
root=$(pwd)
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

{
  cat <<TOML
[sip]
udp = ["127.0.0.1:$PORT"]
tcp = ["127.0.0.1:$PORT"]
[http]
listen = "127.0.0.1:$HTTP"
[storage]
data_dir = "$work/data"
[media]
dir = "$root/media"
mode = "$MODE"
[ivr]
scripts_dir = "$root/ivr-scripts"
[log]
level = "warn"
[cti]
ring_timeout_s = 10
[[service]]
number = "100"
script = "main"
[[queue]]
name = "support"
max_size = 1000
wrap_up_s = 0
TOML
  for i in $(seq 1 "$SEATS"); do
    printf '[[seat]]\nuser = "%d"\npassword = "load%d"\nskills = ["support"]\n' $((2000 + i)) $((2000 + i))
  done
} > "$work/softacd.toml"
{ echo SEQUENTIAL; for i in $(seq 1 "$SEATS"); do u=$((2000 + i)); echo "$u;[authentication username=$u password=load$u]"; done; } > "$work/users.csv"

"$bin" run --config "$work/softacd.toml" > "$work/out" 2> "$work/err" &
pids+=($!); server=$!
for _ in $(seq 100); do grep -q "softacd ready" "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q "softacd ready" "$work/out" || { cat "$work/err"; exit 1; }

sipp -sf sip-tests/call/load/agent_register.xml -oocsf "$root/sip-tests/call/load/agent_answer.xml" \
     -inf "$work/users.csv" -m "$SEATS" -r 50 -d $((TIMEOUT * 1000)) -t u1 -i 127.0.0.1 \
     -p $((PORT + 10)) -mp 26000 -nostdin -timeout "${TIMEOUT}s" 127.0.0.1:"$PORT" > /dev/null 2>&1 &
pids+=($!)
ready=0
for _ in $(seq 200); do
  ready=$(curl -s "127.0.0.1:$HTTP/api/agents" | { grep -o '"available"' || true; } | wc -l)
  [ "$ready" -ge "$SEATS" ] && break
  sleep 0.1
done
echo "agents available: $ready of $SEATS"

start=$(date +%s.%N)
sipp -sf sip-tests/call/load/call_flow.xml -t u1 -i 127.0.0.1 -p $((PORT + 20)) -mp 28000 \
     -r "$RATE" -l "$LIMIT" -m "$COUNT" -nostdin -timeout "${TIMEOUT}s" \
     -trace_stat -stf "$work/stat.csv" -fd 1 -trace_err -error_file "$work/callers.err" \
     127.0.0.1:"$PORT" > /dev/null 2>&1 || true
end=$(date +%s.%N)
header=$(head -n 1 "$work/stat.csv"); last=$(tail -n 1 "$work/stat.csv")
col() { echo "$header" | tr ';' '\n' | grep -n "^$1\$" | cut -d: -f1; }
ok=$(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')")
failed=$(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')")
elapsed=$(echo "$end - $start" | bc -l)
cpu=$(ps -o times= -p "$server" | tr -d ' ')
q() { curl -s "127.0.0.1:$HTTP/metrics" | grep "^softacd_divert_to_media_seconds{quantile=\"$1\"}" | awk '{printf "%.2f ms", $2 * 1000}'; }
cdrs=$(curl -s "127.0.0.1:$HTTP/api/calls?limit=1000" | { grep -o '"contact_id"' || true; } | wc -l)
printf 'mode=%s seats=%s calls=%s failed=%s elapsed=%.1fs transfers/s=%.1f failure=%.2f%% cdrs=%s softacd_cpu_s=%s divert_to_media_p50=%s p99=%s\n' \
  "$MODE" "$SEATS" "$ok" "$failed" "$elapsed" "$(echo "$ok / $elapsed" | bc -l)" \
  "$(echo "100 * $failed / ($ok + $failed + 0.000001)" | bc -l)" "$cdrs" "$cpu" "$(q 0.5)" "$(q 0.99)"
if [ "$failed" != "0" ] && [ -f "$work/callers.err" ]; then
  echo "--- first SIPp caller errors ---"; head -c 3000 "$work/callers.err"; echo
fi
