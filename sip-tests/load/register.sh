#!/usr/bin/env bash
# REGISTER/s on this machine: a release softacd on loopback, SIPp running
# sip-tests/load/register.xml (one "call" = REGISTER → 401 → REGISTER with
# digest → 200) as a closed loop of LIMIT concurrent registrations, COUNT in
# all, bounded by TIMEOUT. Prints the rate of successful registrations.
#   sip-tests/load/register.sh                 # UDP
#   TRANSPORT=t1 sip-tests/load/register.sh    # TCP
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${COUNT:-20000}
LIMIT=${LIMIT:-100}
RATE=${RATE:-20000}
TRANSPORT=${TRANSPORT:-u1}
TIMEOUT=${TIMEOUT:-120}
PORT=${PORT:-15060}

command -v sipp >/dev/null || { echo "sipp missing: run scripts/install-deps.sh" >&2; exit 1; }
cargo build --release --quiet
bin=${CARGO_TARGET_DIR:-target}/release/softacd

work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
cat > "$work/softacd.toml" <<TOML
[sip]
udp = ["127.0.0.1:$PORT"]
tcp = ["127.0.0.1:$PORT"]
[http]
listen = "127.0.0.1:0"
[storage]
data_dir = "$work/data"
[log]
level = "warn"
[[seat]]
user = "1001"
password = "demo1001"
[[seat]]
user = "1002"
password = "demo1002"
[[seat]]
user = "1003"
password = "demo1003"
TOML
"$bin" run --config "$work/softacd.toml" > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 100); do grep -q "softacd ready" "$work/out" 2>/dev/null && break; sleep 0.1; done
grep -q "softacd ready" "$work/out" || { cat "$work/err"; exit 1; }

start=$(date +%s.%N)
sipp -sf sip-tests/load/register.xml -inf sip-tests/load/users.csv -t "$TRANSPORT" -i 127.0.0.1 \
     -r "$RATE" -l "$LIMIT" -m "$COUNT" -timeout "${TIMEOUT}s" -nostdin \
     -trace_stat -stf "$work/stat.csv" -fd 1 127.0.0.1:"$PORT" > /dev/null 2>&1 || true
end=$(date +%s.%N)
last=$(tail -n 1 "$work/stat.csv")
header=$(head -n 1 "$work/stat.csv")
col() { echo "$header" | tr ';' '\n' | grep -n "^$1\$" | cut -d: -f1; }
ok=$(echo "$last" | cut -d';' -f"$(col 'SuccessfulCall(C)')")
failed=$(echo "$last" | cut -d';' -f"$(col 'FailedCall(C)')")
cpu=$(ps -o times= -p "$pid" | tr -d ' ')
elapsed=$(echo "$end - $start" | bc -l)
printf 'transport=%s registrations=%s failed=%s elapsed=%.2fs rate=%.0f/s softacd_cpu_s=%s\n' \
  "$TRANSPORT" "$ok" "$failed" "$elapsed" "$(echo "$ok / $elapsed" | bc -l)" "$cpu"
