#!/bin/bash
# selftest/run.sh: checks every call-flow scenario without a softacd server.
#
#  1. SIPp's own parser accepts every XML under call/ and call/load/ (each is started
#     once against 127.0.0.1:9 with a 1 s timeout; any error other than the timeout
#     fails);
#  2. each caller scenario runs against a mock SoftACD (SIPp UAS scenarios here),
#     whose SDP points RTP at rtp_listen.py: the keys the caller replays from pcap/
#     must arrive; pairs that must fail (a required re-INVITE that never comes, a BYE
#     that never comes) are run too and must fail;
#  3. agent_register.xml with each out-of-call agent scenario, and the load pair,
#     run against mock_agent_side.py.
#
# Needs sipp with pcap play, python3, and root or CAP_NET_RAW (play_pcap_audio).
# Uses UDP ports BASE..BASE+3 (BASE defaults to 25060) and 7078 on 127.0.0.1.
# Takes about 4 minutes. Run from anywhere: sip-tests/call/selftest/run.sh
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
CALL=$(dirname "$HERE")
BASE=${BASE:-25060}
MOCK_PORT=$BASE CALLER_PORT=$((BASE + 1)) AGENT_MOCK_PORT=$((BASE + 2)) AGENT_PORT=$((BASE + 3))
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0

pass() { echo "ok    $*"; }
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

parse_check() {
    local f=$1 err="$WORK/parse.err"
    rm -f "$err"
    (cd "$WORK" && timeout 10 sipp -sf "$f" -m 1 -timeout 1s -nostdin -i 127.0.0.1 \
        -p "$CALLER_PORT" -inf "$CALL/../load/users.csv" -trace_err -error_file "$err" \
        127.0.0.1:9 >/dev/null 2>&1)
    if grep -v "timed out after\|events occurred\|^\s*$" "$err" 2>/dev/null | grep -q .; then
        fail "parse ${f#$CALL/}: $(grep -v 'timed out after' "$err" | head -2)"
    else
        pass "parse ${f#$CALL/}"
    fi
}

# caller MOCK CALLER EXPECT(0|fail) KEYS [extra caller args]
caller() {
    local mock=$1 sc=$2 expect=$3 keys=$4; shift 4
    local d="$WORK/$(basename "$sc" .xml)-$(basename "$mock" .xml)$*"
    local transport=u1
    [[ " $* " == *" -t t1 "* ]] && transport=t1
    mkdir -p "$d"
    python3 "$HERE/rtp_listen.py" 7078 4 >"$d/rtp.txt" &
    local listener=$!
    (cd "$d" && exec timeout 60 sipp -sf "$HERE/$mock" -p "$MOCK_PORT" -t "$transport" -i 127.0.0.1 -m 1 -nostdin \
        -timeout 45s -trace_err >/dev/null 2>&1) &
    local mockpid=$!
    sleep 0.3
    (cd "$d" && timeout 60 sipp -sf "$CALL/$sc" -p "$CALLER_PORT" -mp 26000 -i 127.0.0.1 -m 1 -nostdin \
        -timeout 45s -timeout_error -recv_timeout 8000 -default_behaviors all,-bye -trace_err \
        "$@" "127.0.0.1:$MOCK_PORT" >/dev/null 2>&1)
    local rc=$?
    wait "$listener"
    kill "$mockpid" 2>/dev/null; wait "$mockpid" 2>/dev/null
    local got; got=$(sed -n 's/.*keys //p' "$d/rtp.txt")
    local what="$sc vs $mock (exit $rc, keys '$got')"
    if [ "$expect" = 0 ] && [ "$rc" = 0 ] && [ "$got" = "$keys" ]; then pass "$what"
    elif [ "$expect" = fail ] && [ "$rc" != 0 ]; then pass "$what: fails as it must"
    else fail "$what; expected exit $expect keys '$keys'; logs: $(cat "$d"/*errors.log 2>/dev/null | head -3)"
    fi
}

# agent MODE MAIN OOC EXPECT(0|fail) [extra args]
agent() {
    local mode=$1 main=$2 ooc=$3 expect=$4; shift 4
    local d="$WORK/agent-$mode-$(basename "$ooc" .xml)"
    mkdir -p "$d"
    python3 "$HERE/mock_agent_side.py" "$mode" "$AGENT_MOCK_PORT" >"$d/mock.txt" 2>&1 &
    local mockpid=$!
    sleep 0.3
    (cd "$d" && timeout 90 sipp -sf "$CALL/$main" -oocsf "$CALL/$ooc" -s 1001 -au 1001 -ap demo1001 \
        -p "$AGENT_PORT" -mp 26100 -i 127.0.0.1 -m 1 -nostdin -timeout 80s -timeout_error \
        -default_behaviors all,-bye -trace_err "$@" "127.0.0.1:$AGENT_MOCK_PORT" >/dev/null 2>&1)
    local rc=$?
    kill "$mockpid" 2>/dev/null; wait "$mockpid" 2>/dev/null
    local what="$main + $ooc vs mock $mode (exit $rc, $(cat "$d/mock.txt"))"
    if [ "$expect" = 0 ] && [ "$rc" = 0 ]; then pass "$what"
    elif [ "$expect" = fail ] && [ "$rc" != 0 ]; then pass "$what: fails as it must"
    else fail "$what; logs: $(cat "$d"/*errors.log 2>/dev/null | head -3)"
    fi
}

for f in "$CALL"/*.xml "$CALL"/load/*.xml; do parse_check "$f"; done

caller mock_relay.xml caller_hangup_welcome.xml 0 ""
caller mock_relay.xml caller_info_then_hangup.xml 0 "1"
caller mock_relay.xml caller_hangup_queued.xml 0 "0"
caller mock_relay.xml caller_menu_agent.xml 0 "0"
caller mock_direct.xml caller_menu_agent.xml 0 "0"
caller mock_direct.xml caller_menu_agent_direct.xml 0 "0"
caller mock_relay.xml caller_menu_agent_direct.xml fail ""
caller mock_relay_agentbye.xml caller_agent_hangs_up.xml 0 "0"
caller mock_direct_agentbye.xml caller_agent_hangs_up.xml 0 "0"
caller mock_late.xml caller_late_offer.xml 0 "1"
caller mock_cancel.xml caller_cancel.xml 0 ""
caller mock_silent.xml caller_silent.xml 0 ""
caller mock_direct.xml load/call_flow.xml 0 "0"
caller mock_direct.xml caller_menu_agent.xml 0 "0" -t t1

agent answer agent_register.xml agent_uas.xml 0
agent hangup agent_register.xml agent_hangs_up.xml 0
agent reject agent_register.xml agent_rejects.xml 0
agent no_answer agent_register.xml agent_no_answer.xml 0
agent answer load/agent_register.xml load/agent_answer.xml 0 -inf "$CALL/../load/users.csv" -d 3000

echo "$failures failure(s)"
[ "$failures" = 0 ]
