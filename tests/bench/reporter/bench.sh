#!/usr/bin/env bash
# helpdesk-reporter benchmark: 100k and 1M seeded tickets over 365 days; the weekly report
# (all nine sections) and the whole-year report; wall time and peak RSS per run, plus the
# per-section times the reporter prints with HD_REPORTER_TIMINGS=1.
# Usage: tests/bench/reporter/bench.sh   (builds with --config=opt first)
set -euo pipefail
cd "$(dirname "$0")/../../.."
bazel build --config=opt //reporter:helpdesk-reporter >/dev/null 2>&1
R=bazel-out/k8-opt/bin/reporter/helpdesk-reporter
END=1795413600 # 2026-11-23 06:00 UTC
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
run() { # label, extra args...
    local label=$1
    shift
    local t
    t=$( { HD_REPORTER_TIMINGS=1 /usr/bin/time -f "wall_s=%e peak_kib=%M" "$R" run --report Bench \
        --tz Europe/Berlin --now $END "$@" --out "$OUT/r.xlsx" >/dev/null; } 2>&1 | tr '\n' ' ')
    printf '%-22s %s size_bytes=%s\n' "$label" "$t" "$(stat -c %s "$OUT/r.xlsx")"
}
for n in 100000 1000000; do
    run "week n=$n" --seed 11:$n:365:$END
    run "year n=$n" --seed 11:$n:365:$END --from 2025-11-23 --to 2026-11-22 --group week
done
