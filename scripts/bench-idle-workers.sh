#!/usr/bin/env bash
# BENCHMARKS.md "A worker without partitions": one partition read by one worker, by 2 workers, by 2 processes and by 2 × 2, at
# 40,000 and 240,000 events/s (2 producers at 20,000 and 120,000 each), in one script run on one
# fresh local broker (fresh topics per run): the sweep's cells of BENCHMARKS.md "Scaling sweep" with one
# partition. Writes each rate's sweep.csv and table into OUT.
# Usage: scripts/bench-idle-workers.sh [DURATION] [REPEAT] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-15}"
repeat="${2:-1}"
out="${3:-out/bench-idle-workers}"
source scripts/local-broker.sh
rm -rf "$out"
for rate in 20000 120000; do
    echo "== 1 partition, 2 producers x $rate events/s, ${duration} s"
    "$bin/harness" sweep --bootstrap "$bootstrap" --partitions 1 --workers 1,2 --processes 1,2 \
        --rate "$rate" --duration "$duration" --repeat "$repeat" --out "$out/r$rate" \
        2> >(grep -E "^(  run failed)" >&2)
done
