#!/usr/bin/env bash
# BENCHMARKS.md "Long runs": the seed's defaults (2 producers x 20,000 events/s, 2 partitions, 1 worker) over
# 60 s and over 180 s, each on a fresh local broker (scripts/bench-seed-latency.sh, once per duration):
# end-to-end latency per window from first to last, the broker's delivery delay, and the broker's CPU.
# Usage: scripts/bench-long-runs.sh [DURATION ...]
set -euo pipefail
cd "$(dirname "$0")/.."
durations=("$@")
[ ${#durations[@]} -gt 0 ] || durations=(60 180)
for duration in "${durations[@]}"; do
    echo "== ${duration} s"
    scripts/bench-seed-latency.sh "$duration" 1
done
