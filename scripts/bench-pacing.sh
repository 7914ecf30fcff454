#!/usr/bin/env bash
# BENCHMARKS.md "Paced as cheap as unpaced": a producer's CPU per event paced (waking for every event, and at most once per
# 2 ms tick, the default) against unpaced with the same events, at 20,000 and 100,000 events/s, in one
# script run on one fresh local broker (fresh topics per run), alternating, REPEAT times. Prints each
# run's CPU per event and schedule lag p99, then the medians and the ratios to unpaced.
# Usage: scripts/bench-pacing.sh [SECONDS] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
repeat="${2:-3}"
source scripts/local-broker.sh
runs=$(mktemp)
trap 'rm -f "$runs"; stop_broker' EXIT

for rate in 20000 100000; do
    for i in $(seq "$repeat"); do
        for mode in every-event tick-2ms unpaced; do
            case "$mode" in
                every-event) flags=(--pacing-tick-us 0) ;;
                tick-2ms) flags=(--pacing-tick-us 2000) ;;
                unpaced) flags=(--unpaced) ;;
            esac
            "$bin/harness" topics clear --bootstrap "$bootstrap" --partitions 2 >/dev/null
            summary=$("$bin/producer" --bootstrap "$bootstrap" --rate "$rate" --duration "$seconds" \
                --generator poisson "${flags[@]}" 2>/dev/null | tail -1)
            echo "$rate $mode $summary" >>"$runs"
        done
    done
done

python3 scripts/bench.py pacing "$runs"
