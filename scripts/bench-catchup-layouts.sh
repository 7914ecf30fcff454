#!/usr/bin/env bash
# Catch-up on both byte layouts (BENCHMARKS.md, "Catch-up on the seed's layout"): one fresh local broker
# holds 2,000,000 events of our producers (2 unpaced × 1,000,000, uniform) in the 2 partitions of
# `events`, and 2,000,000 events in the seed's layout (Python json.dumps, no headers:
# scripts/seed-layout-fill.py, 2 fillers × 1,000,000) in the 2 partitions of `seed-events`. Each repeat
# reads each topic with the bare consumer (`harness drain`) and the job (1 worker; exact mode on ours,
# bounded mode with a 500 ms idle close on the seed's, as a user runs it), alternating, with the wall and
# CPU time of each. A job built from OTHER_COMMIT (optional) runs after this checkout's in each repeat.
# Usage: scripts/bench-catchup-layouts.sh [REPEATS] [OTHER_COMMIT]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats="${1:-3}"
other="${2:-}"
venv="$HOME/.cache/adstream/bench-python"
if ! "$venv/bin/python" -c "import confluent_kafka" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet confluent-kafka
fi
source scripts/local-broker.sh
[ -z "$other" ] || source scripts/other-build.sh

catchup_partitions=2 catchup_seconds=10 source scripts/catchup-events.sh
"$bin/harness" topics create --bootstrap "$bootstrap" --partitions 2 \
    --events-topic seed-events --results-topic seed-results >/dev/null
echo "== filling: 2 × 1,000,000 events in the seed's layout into seed-events"
fillers=()
for seed in 1 2; do
    "$venv/bin/python" scripts/seed-layout-fill.py --bootstrap "$bootstrap" --topic seed-events \
        --seconds 20 --per-second 50000 --base $((base / 1000)) --seed $seed >/dev/null &
    fillers+=($!)
done
wait "${fillers[@]}"

jobs=("this:$bin/dataflow")
[ -z "$other" ] || jobs+=("$other:$other_bin/dataflow")
for i in $(seq 1 "$repeats"); do
    echo "== repeat $i"
    /usr/bin/time -f "   wall %e s, cpu %U + %S s" "$bin/harness" drain --bootstrap "$bootstrap" \
        --producers 2 2>&1 | sed 's/^/  ours, bare consumer: /'
    for job in "${jobs[@]}"; do
        /usr/bin/time -f "   wall %e s, cpu %U + %S s" "${job#*:}" --bootstrap "$bootstrap" --producers 2 \
            --base-time-ms "$base" 2>&1 >/dev/null | tail -n 1 | sed "s/^/  ours, job (${job%%:*}): /"
    done
    /usr/bin/time -f "   wall %e s, cpu %U + %S s" "$bin/harness" drain --bootstrap "$bootstrap" \
        --events-topic seed-events --producers 0 --mode bounded 2>&1 | sed 's/^/  seed, bare consumer: /'
    for job in "${jobs[@]}"; do
        /usr/bin/time -f "   wall %e s, cpu %U + %S s" "${job#*:}" --bootstrap "$bootstrap" \
            --events-topic seed-events --results-topic seed-results --mode bounded --exit-when-idle \
            --idle-close-ms 500 2>&1 >/dev/null | tail -n 1 | sed "s/^/  seed, job (${job%%:*}): /"
    done
done
