#!/usr/bin/env bash
# loadgen against fake_server (the serving core with in-memory tickets): the call budget
# and the time bound each stop a run, errors are counted by gRPC status, JSON parses.
set -euo pipefail

loadgen=$1
server=$2
tmp=$(mktemp -d "${TEST_TMPDIR:-/tmp}/lg.XXXXXX")
pid=
cleanup() {
    if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" || true; fi
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$server" --listen 127.0.0.1:0 --data "$tmp/data" --ready-file "$tmp/ready" --log-level warn \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
for _ in $(seq 200); do [ -s "$tmp/ready" ] && break; sleep 0.05; done
[ -s "$tmp/ready" ] || fail "server did not start: $(cat "$tmp/err")"
addr=$(cat "$tmp/ready")
tok="$tmp/data/admin.token"

# Field of scenario in a loadgen JSON document.
field() { /usr/bin/python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
r = [x for x in doc["results"] if x["scenario"] == sys.argv[2]][0]
v = r
for k in sys.argv[3].split("."):
    v = v.get(k, 0) if isinstance(v, dict) else 0
print(v)' "$@"; }

# 1. --max-calls stops long before --duration: exactly the budget is measured.
start=$(date +%s%N)
"$loadgen" --target "$addr" --token-file "$tok" --scenario null,get --max-calls 700 \
    --duration 60 --warmup 0.1 --setup-tickets 20 --json >"$tmp/budget.json"
took_ms=$((($(date +%s%N) - start) / 1000000))
[ "$(field "$tmp/budget.json" null calls)" = 700 ] || fail "null calls != 700: $(cat "$tmp/budget.json")"
[ "$(field "$tmp/budget.json" get ok)" = 700 ] || fail "get ok != 700: $(cat "$tmp/budget.json")"
[ "$took_ms" -lt 30000 ] || fail "max-calls run took ${took_ms} ms"
echo "ok budget: 700 calls each, ${took_ms} ms"

# 2. --duration stops an unbounded run on time.
start=$(date +%s%N)
"$loadgen" --target "$addr" --token-file "$tok" --scenario create --duration 1 --warmup 0.2 \
    --connections 2 --streams 4 --json >"$tmp/time.json"
took_ms=$((($(date +%s%N) - start) / 1000000))
[ "$took_ms" -ge 1100 ] || fail "duration run ended early: ${took_ms} ms"
[ "$took_ms" -lt 8000 ] || fail "duration run overran: ${took_ms} ms"
calls=$(field "$tmp/time.json" create ok)
[ "$calls" -gt 0 ] || fail "no successful create in 1 s: $(cat "$tmp/time.json")"
echo "ok duration: $calls creates, ${took_ms} ms"

# 3. Errors by status: no token -> UNAUTHENTICATED; reply is not in the API -> UNIMPLEMENTED.
"$loadgen" --target "$addr" --scenario list --max-calls 50 --warmup 0 --json >"$tmp/noauth.json"
[ "$(field "$tmp/noauth.json" list errors.UNAUTHENTICATED)" = 50 ] ||
    fail "expected 50 UNAUTHENTICATED: $(cat "$tmp/noauth.json")"
"$loadgen" --target "$addr" --token-file "$tok" --scenario reply --max-calls 30 --warmup 0 \
    --setup-tickets 5 >"$tmp/reply.txt"
grep -q 'UNIMPLEMENTED=30' "$tmp/reply.txt" || fail "reply: $(cat "$tmp/reply.txt")"
grep -q 'not available' "$tmp/reply.txt" || fail "reply not marked unavailable"
echo "ok errors by status"

# 4. Bad usage exits 1.
if "$loadgen" --target "$addr" --scenario nosuch >/dev/null 2>&1; then fail "bad scenario accepted"; fi
echo "4 passed, 0 failed"
