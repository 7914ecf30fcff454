#!/usr/bin/env bash
# BENCHMARKS.md "Capacity and its parts": the capacity of the pipeline with 4 partitions, and the limit of each part measured
# alone, in one script run on one fresh local broker (fresh topics per run):
#   1. `harness capacity --partitions 4`: 2 paced producers, the job on 1 worker, DURATION-second runs
#      from 160,000 events/s upward (doubling, then STEPS bisections), on the default broker address
#      (127.0.0.1:9092, which must be free: the harness starts the broker there and measures its CPU),
#      with each run's CPU per event and the rate the machine's cores would allow at that cost;
#   2. the producers and the broker alone: 2 unpaced producers at once into 4 partitions, no job, their
#      events over the time until the last delivery report;
#   3. the job alone: the job (1 worker) catching up on those events, already in the topic.
# Usage: scripts/bench-capacity-parts.sh [DURATION] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
steps="${2:-2}"
source scripts/local-broker.sh
out=$(mktemp -d)
trap 'rm -rf "$out"; stop_broker' EXIT

echo "== 1. the pipeline: harness capacity, 4 partitions (on a broker the harness starts, so each run's"
echo "   report has the broker's CPU too)"
"$bin/harness" capacity --partitions 4 --duration "$duration" --steps "$steps" \
    --from 160000 --max-rate 1280000 --out "$out/capacity" 2> >(grep -E "^(capacity|  [0-9])" >&2)
echo "   CPU of each run in s (during the run, then the verification's recount apart), per event, the"
echo "   rate $(nproc) cores would allow at that cost, and the cores the run kept busy:"
python3 scripts/bench.py capacity_cpu "$out/capacity" "$(nproc)"

echo "== 2. the producers and the broker alone: 2 unpaced producers, 4 partitions"
"$bin/harness" topics clear --bootstrap "$bootstrap" --partitions 4 >/dev/null
base=$(date +%s%3N)
producers=()
for id in 0 1; do
    "$bin/producer" --bootstrap "$bootstrap" --id "$id" --unpaced --rate 250000 --duration 20 \
        --generator poisson --base-time-ms "$base" >"$out/producer$id.json" 2>/dev/null &
    producers+=($!)
done
wait "${producers[@]}"
python3 scripts/bench.py producers_alone "$out"

echo "== 3. the job alone: 1 worker catching up on those events"
/usr/bin/time -f "  job: wall %e s, CPU %U s user + %S s system" \
    "$bin/dataflow" --bootstrap "$bootstrap" --producers 2 --base-time-ms "$base" 2>&1 >/dev/null \
    | sed 's/^/  /'
