#!/usr/bin/env bash
# Catch-up of issue 23 (BENCHMARKS.md, "Catch-up: where the job's time goes"): 2,000,000 events (2
# unpaced producers × 1,000,000, uniform) in 2 partitions of a fresh local broker, read REPEATS times
# by the bare consumer (`harness drain`) and the job (`dataflow`, exact mode, 1 worker), alternating,
# with wall and CPU time of each; then one job run under `perf record -g` into perf-job.data (read it
# with `perf report -i perf-job.data --no-children --sort sym`).
# Usage: scripts/bench-catchup-profile.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-4}"
source scripts/local-broker.sh
catchup_partitions=2 catchup_seconds=10 source scripts/catchup-events.sh
for i in $(seq 1 "$repeats"); do
    /usr/bin/time -f "  [$i] bare consumer: wall %e s, cpu %U + %S s" \
        "$bin/harness" drain --bootstrap "$bootstrap" --producers 2 2>&1 | tail -n 1
    /usr/bin/time -f "  [$i] job:           wall %e s, cpu %U + %S s" \
        "$bin/dataflow" --bootstrap "$bootstrap" --producers 2 --base-time-ms "$base" 2>&1 >/dev/null | tail -n 1
done
perf record -F 2000 -g -o perf-job.data "$bin/dataflow" --bootstrap "$bootstrap" --producers 2 \
    --base-time-ms "$base" >/dev/null 2>&1
echo "  profile: perf-job.data"
