#!/usr/bin/env bash
# Producer benchmarks of BENCHMARKS.md: one producer paced at 20,000 events/s (schedule lag), then one
# producer unpaced (throughput), each against a fresh local broker on a free port, three repeats.
# Usage: scripts/bench-producer.sh [PACED_SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
paced_seconds="${1:-60}"
source scripts/local-broker.sh

echo "== paced: 1 producer, poisson, 20000 events/s, ${paced_seconds} s, 2 partitions"
for i in 1 2 3; do
    "$bin/harness" topics clear --bootstrap "$bootstrap" --partitions 2 >/dev/null
    "$bin/producer" --bootstrap "$bootstrap" --rate 20000 --duration "$paced_seconds" --generator poisson >/dev/null
done

echo "== unpaced: 1 producer, 3,000,000 events as fast as possible, 2 partitions"
for i in 1 2 3; do
    "$bin/harness" topics clear --bootstrap "$bootstrap" --partitions 2 >/dev/null
    before=$(broker_cpu_ms)
    /usr/bin/time -f "  producer CPU %P of one core, %e s wall" \
        "$bin/producer" --bootstrap "$bootstrap" --unpaced --rate 100000 --duration 30 --generator poisson >/dev/null
    echo "  broker CPU $(( $(broker_cpu_ms) - before )) ms"
done
