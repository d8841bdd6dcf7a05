#!/bin/sh
# Checks health and reflection with real clients: starts builtin_server on an ephemeral
# port, then buf curl (reflection: list services and methods, v1 and v1alpha; a Health
# Check call) and Python grpcio (check_clients.py). Installs buf into .tools/node if absent.
# Usage (from the repository root):
#   bazel build //tests/unit/server/rpc/builtin:builtin_server
#   tests/unit/server/rpc/builtin/check_clients.sh
set -u
ROOT=$(cd "$(dirname "$0")/../../../../.." && pwd)
BIN="$ROOT/bazel-bin/tests/unit/server/rpc/builtin/builtin_server"
BUF="$ROOT/.tools/node/node_modules/.bin/buf"
[ -x "$BUF" ] || npm install --prefix "$ROOT/.tools/node" @bufbuild/buf >/dev/null || exit 1
TMP=$(mktemp -d)
"$BIN" 127.0.0.1:0 >"$TMP/out" 2>"$TMP/err" &
PID=$!
i=0
while [ $i -lt 100 ] && ! grep -q listening "$TMP/out"; do sleep 0.05; i=$((i + 1)); done
ADDR=$(sed -n 's/^listening on //p' "$TMP/out")
pass=0
fail=0
step() { # step NAME EXPECTED_SUBSTRING COMMAND...
    name=$1 want=$2
    shift 2
    if "$@" >"$TMP/step" 2>&1 && grep -q -- "$want" "$TMP/step"; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name"; cat "$TMP/step"
    fi
}
G="--protocol grpc --http2-prior-knowledge"
step "buf list-methods (v1)" "helpdesk.v1.TicketService/GetTicket" $BUF curl $G --list-methods "http://$ADDR"
step "buf list-services (v1alpha)" "grpc.health.v1.Health" \
    $BUF curl $G --reflect-protocol grpc-v1alpha --list-services "http://$ADDR"
step "buf Health/Check" '"status": "SERVING"' \
    $BUF curl $G -d '{"service":"helpdesk.v1.TicketService"}' "http://$ADDR/grpc.health.v1.Health/Check"
step "python grpcio health+reflection" "PASS" /usr/bin/python3 "$(dirname "$0")/check_clients.py" "$ADDR"
kill -TERM $PID
wait $PID
rc=$?
if [ $rc -eq 0 ]; then pass=$((pass + 1)); echo "ok   SIGTERM exit 0"; else fail=$((fail + 1)); echo "FAIL SIGTERM exit $rc"; fi
rm -rf "$TMP"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
