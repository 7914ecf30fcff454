#!/usr/bin/env bash
# Fault tolerance at the seed's load (BENCHMARKS.md, issue 10), in one script run on one fresh local
# broker per run:
#  1. checkpointing on (every 1000 ms, the default) against off (--checkpoint-interval-ms 0): REPEATS
#     pairs of DURATION-second runs, alternating, each line with the job's CPU and end-to-end latency;
#  2. recovery: one 60 s run whose only job process is SIGKILLed at 30 s: the fault's record (kill,
#     restart, caught up, records read again) and the latency of the window that spanned it.
# Usage: scripts/bench-recovery.sh [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"
repeats="${2:-3}"

report() {
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); label = sys.argv[2]
l, c = r["latency_ms"], r["cpu_s"]
print(f"  {label}: job CPU {c['job']:.2f} s, end to end p50 {l['p50']:.0f} p90 {l['p90']:.0f} p99 {l['p99']:.0f} ms, "
      f"exact {r['verification']['exact']}, {r['events']['processed']} events")
for f in r.get("faults", []):
    up = f["caught_up_at_s"]
    print(f"  {label}: {f['target']} killed at {f['failed_at_s']:.2f} s, restarted at {f['restarted_at_s']:.2f} s, "
          f"caught up at {up:.2f} s: kill to caught up {up - f['failed_at_s']:.2f} s, {f['events_reread']} records read again")
for w in r["windows"]:
    if w.get("disturbed"):
        print(f"  {label}: window {w['window_id']} spanned the fault: max latency {w['max_latency_ms']} ms, avg {w['avg_latency_ms']:.1f} ms")
if r.get("latency_undisturbed_ms"):
    u, d = r["latency_undisturbed_ms"], r["latency_disturbed_ms"]
    print(f"  {label}: undisturbed windows p90 {u['p90']:.0f} max {u['max']:.0f} ms; spanning the fault p90 {d['p90']:.0f} max {d['max']:.0f} ms")
PY
}

run() {
    local label="$1"; shift
    (
        source scripts/local-broker.sh
        out=$(mktemp -d)
        "$bin/harness" run --bootstrap "$bootstrap" --out "$out" "$@" >/dev/null 2>&1 \
            || { echo "  $label: run failed"; exit 1; }
        report "$out/report.json" "$label"
        rm -rf "$out"
    )
}

echo "== checkpointing on vs off: 2 producers x 20,000 events/s x ${duration} s, ${repeats} pairs"
for i in $(seq 1 "$repeats"); do
    run "[$i] on " --duration "$duration"
    run "[$i] off" --duration "$duration" --checkpoint-interval-ms 0
done
echo "== recovery: 60 s at the seed's load, the job process SIGKILLed at 30 s"
run "[kill]" --duration 60 --kill job:0@30
