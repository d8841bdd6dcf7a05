#!/usr/bin/env bash
# helpdesk-reporter through a real helpdeskd: stores of N tickets over 365 days built by
# bulkgen (every observer registered, so the report rollups are filled; --work adds an SLA
# policy and each ticket's reply/solve/rating history), then per store: the weekly report
# with all nine sections and the whole-year report of the trend sections (all but the
# breach list), each 3 times from the rollups, plus the weekly one from the ticket stream
# (--stream) for comparison, and the whole-year breach list alone 3 times (its
# HD_REPORTER_TIMINGS breaches_s is the stream plus writing the rows). Prints wall time,
# peak RSS and HD_REPORTER_TIMINGS per run.
# Usage: tests/bench/reporter/server_bench.sh [N ...]   (default: 100000 1000000; builds opt)
# Stores are kept under $HD_BENCH_DIR (default /tmp/hd-reporter-bench) and reused.
set -euo pipefail
cd "$(dirname "$0")/../../.."
bazel build -c opt //reporter:helpdesk-reporter //server:helpdeskd \
    //tests/bench/tickets:bulkgen >/dev/null 2>&1
B=bazel-out/k8-opt/bin
BIN=$(mktemp -d)
cp $B/reporter/helpdesk-reporter $B/server/helpdeskd $B/tests/bench/tickets/bulkgen "$BIN"/
DIR=${HD_BENCH_DIR:-/tmp/hd-reporter-bench}
END=1795413600 # 2026-11-23 06:00 UTC
SERVER=
cleanup() {
    [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true
    rm -rf "$BIN"
}
trap cleanup EXIT
run() { # label, extra args...
    local label=$1
    shift
    local t
    t=$( { HD_REPORTER_TIMINGS=1 /usr/bin/time -f "wall_s=%e peak_kib=%M" "$BIN"/helpdesk-reporter \
        run --config "$DIR/reporter.ini" --tz Europe/Berlin --now $END "$@" \
        --out "$DIR/r.xlsx" >/dev/null; } 2>&1 | tr '\n' ' ')
    printf '%-28s %s\n' "$label" "$t"
}
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in "${@:-100000 1000000}"; do
    for m in $n; do
        d=$DIR/n$m
        if [ ! -d "$d/store" ]; then
            mkdir -p "$d"
            /usr/bin/time -f "fill n=$m: %e s, peak %M KiB" "$BIN"/bulkgen --data "$d/store" \
                --tickets "$m" --days 365 --end $END --work 2>&1 | grep -v level=info
        fi
        rm -f "$d/ready"
        "$BIN"/helpdeskd --listen 127.0.0.1:0 --data "$d" --ready-file "$d/ready" \
            --unsafe-nosync >"$d/server.log" 2>&1 &
        SERVER=$!
        for _ in $(seq 600); do [ -s "$d/ready" ] && break; sleep 0.5; done
        printf '[server]\ntarget = %s\ntoken_file = %s/admin.token\n[report week]\ntitle = Week\nsections = all\n[report trend]\ntitle = Trend\nsections = summary,volume,sla,times,agents,mix,heatmap,csat\n[report breaches]\ntitle = Breaches\nsections = breaches\n' \
            "$(cat "$d/ready")" "$d" >"$DIR/reporter.ini"
        echo "n=$m store $(du -sh "$d/store" | cut -f1), load average $(cut -d' ' -f1-3 /proc/loadavg)"
        for i in 1 2 3; do
            run "week all n=$m #$i" --report week --from 2026-11-16 --to 2026-11-22
        done
        for i in 1 2 3; do
            run "year trend n=$m #$i" --report trend --from 2025-11-23 --to 2026-11-22 \
                --group week
        done
        for i in 1 2 3; do
            run "year breaches n=$m #$i" --report breaches --from 2025-11-23 --to 2026-11-22
        done
        run "week all --stream n=$m" --report week --from 2026-11-16 --to 2026-11-22 --stream
        run "year trend --stream n=$m" --report trend --from 2025-11-23 --to 2026-11-22 \
            --group week --stream
        kill "$SERVER"
        wait "$SERVER" 2>/dev/null || true
        SERVER=
    done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
