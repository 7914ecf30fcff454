#!/usr/bin/env bash
# Fault tolerance at the seed's load (BENCHMARKS.md "Fault tolerance at the seed's load"), in one script run on one fresh local
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
    python3 scripts/bench.py run_line "$1" "$2"
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
