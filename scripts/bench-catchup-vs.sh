#!/usr/bin/env bash
# The catch-up benchmark of BENCHMARKS.md for a before/after comparison of the job: 10,000,000 events
# already in 4 partitions, read by the job of this checkout and by the job built from another commit,
# alternating, in one run against one fresh local broker (plus the bare consumer as the yardstick).
# Usage: scripts/bench-catchup-vs.sh OTHER_COMMIT [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
other="$1"
repeats="${2:-3}"
source scripts/local-broker.sh

source scripts/other-build.sh

source scripts/catchup-events.sh

for i in $(seq 1 "$repeats"); do
    echo "== repeat $i"
    /usr/bin/time -f "   wall %e s, max RSS %M KB" "$bin/harness" drain --bootstrap "$bootstrap" --producers 2 2>&1 | sed 's/^/  drain: /'
    for which in this "$other"; do
        job="$bin/dataflow"
        [ "$which" = this ] || job="$other_bin/dataflow"
        /usr/bin/time -f "   wall %e s, user %U s, sys %S s" "$job" --bootstrap "$bootstrap" --producers 2 \
            --base-time-ms "$base" --workers 1 2>&1 >/dev/null | sed "s/^/  job ($which): /"
    done
done
