#!/usr/bin/env bash
# BENCHMARKS.md "Latency across partitions": the seed's load (2 producers × 20,000 events/s, poisson, the job
# on 1 worker) on 1, 2, 4 and 8 partitions for DURATION seconds, with this checkout's binaries and with those
# built from another commit, alternating, REPEATS rounds, each run on a fresh local broker. Prints each run's
# end-to-end latency, its windows' maxima and the broker's CPU per event on one line.
# The default 25 s ends the run inside a window, so the last window is closed by the end markers.
# Usage: scripts/bench-partitions-vs.sh OTHER_COMMIT [DURATION] [REPEATS] [PARTITIONS...]
set -euo pipefail
cd "$(dirname "$0")/.."
other="$1"
duration="${2:-25}"
repeats="${3:-2}"
shift $(( $# < 3 ? $# : 3 ))
partitions=("$@")
[ ${#partitions[@]} -gt 0 ] || partitions=(1 2 4 8)
source scripts/local-broker.sh
source scripts/other-build.sh
stop_broker

for i in $(seq 1 "$repeats"); do
    for n in "${partitions[@]}"; do
        for which in this "$other"; do
            (
                source scripts/local-broker.sh
                harness="$bin/harness"
                [ "$which" = this ] || harness="$other_bin/harness"
                out=$(mktemp -d)
                before=$(broker_cpu_ms)
                "$harness" run --bootstrap "$bootstrap" --ui off --partitions "$n" --duration "$duration" \
                    --out "$out" >/dev/null 2>&1 || { echo "  [$i] $n partitions, $which: run failed"; exit 1; }
                broker_ms=$(( $(broker_cpu_ms) - before ))
                python3 scripts/bench.py partitions_line "$out/report.json" "[$i] $n partitions, $which" "$broker_ms"
                rm -rf "$out"
            )
        done
    done
done
