#!/usr/bin/env bash
# Latency at the seed's load (BENCHMARKS.md) for a before/after comparison: `harness run` with its
# defaults for DURATION seconds, with this checkout's binaries and with those built from another commit,
# alternating, REPEATS pairs, each run on a fresh local broker. Prints each run's end-to-end latency,
# CPU and exactness on one line.
# Usage: scripts/bench-seed-latency-vs.sh OTHER_COMMIT [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
other="$1"
duration="${2:-30}"
repeats="${3:-3}"
source scripts/local-broker.sh
source scripts/other-build.sh
stop_broker

for i in $(seq 1 "$repeats"); do
    for which in this "$other"; do
        (
            source scripts/local-broker.sh
            harness="$bin/harness"
            [ "$which" = this ] || harness="$other_bin/harness"
            out=$(mktemp -d)
            "$harness" run --bootstrap "$bootstrap" --duration "$duration" --out "$out" >/dev/null 2>&1 \
                || { echo "  [$i] $which: run failed"; exit 1; }
            python3 scripts/bench.py run_line "$out/report.json" "[$i] $which"
            rm -rf "$out"
        )
    done
done
