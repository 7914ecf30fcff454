#!/usr/bin/env bash
# Latency at the seed's load (BENCHMARKS.md): `harness run` with its defaults — 2 producers × 20,000
# events/s, poisson, 2 partitions, the job on 1 worker — for DURATION seconds on a fresh local broker,
# REPEATS times (a fresh broker each time), with the CPU time of the job, the producers and the broker.
# Usage: scripts/bench-seed-latency.sh [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"
repeats="${2:-3}"
for i in $(seq 1 "$repeats"); do
    (
        source scripts/local-broker.sh
        out=$(mktemp -d)
        before=$(broker_cpu_ms)
        /usr/bin/time -f "CPU of harness + job + producers: user %U s, system %S s over %e s" \
            "$bin/harness" run --bootstrap "$bootstrap" --duration "$duration" --out "$out" 2>&1 \
            | grep -E "^(end to end|broker delivery|after window|events|producer|verification|CPU)" | sed "s/^/  [$i] /"
        echo "  [$i] broker CPU $(( $(broker_cpu_ms) - before )) ms over the run"
        python3 scripts/bench.py windows "$out/report.json" "$i"
        rm -rf "$out"
    )
done
