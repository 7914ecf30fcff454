#!/usr/bin/env bash
# Catch-up throughput of BENCHMARKS.md: 10,000,000 events already in 4 partitions, read by a bare rdkafka
# consumer (`harness drain`) and processed by the job with 1 and then 2 workers, alternating, in one run
# against one fresh local broker. Wall times include connecting; the job's also includes writing its
# results. Usage: scripts/bench-catchup.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
source scripts/local-broker.sh

source scripts/catchup-events.sh

for i in $(seq 1 "$repeats"); do
    echo "== repeat $i"
    /usr/bin/time -f "   wall %e s, max RSS %M KB" "$bin/harness" drain --bootstrap "$bootstrap" --producers 2 2>&1 | sed 's/^/  drain: /'
    for workers in 1 2; do
        /usr/bin/time -f "   wall %e s, max RSS %M KB" "$bin/dataflow" --bootstrap "$bootstrap" --producers 2 \
            --base-time-ms "$base" --workers $workers 2>&1 >/dev/null | sed "s/^/  job $workers worker(s): /"
    done
done
