#!/usr/bin/env bash
# Job memory over a long run at a constant rate (BENCHMARKS.md): `harness run` at the seed's load
# (2 producers × 20,000 events/s, poisson, 2 partitions, 1 worker) for DURATION seconds against a fresh
# local broker, sampling the job process's resident memory every 10 s.
# Usage: scripts/bench-job-memory.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-180}"
source scripts/local-broker.sh
out=$(mktemp -d)
trap 'stop_broker; rm -rf "$out"' EXIT
"$bin/harness" run --bootstrap "$bootstrap" --duration "$duration" --out "$out" 2>&1 | sed 's/^/  /' &
run_pid=$!
until job=$(pgrep -f "dataflow --config $out" | head -1); do sleep 0.2; done
echo "seconds  job RSS (MB)"
start=$(date +%s)
while kill -0 "$job" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$job/status" 2>/dev/null || true)
    [ -n "$rss" ] && printf "%7d  %12.1f\n" $(( $(date +%s) - start )) "$(echo "$rss / 1024" | bc -l)"
    sleep 10
done
wait $run_pid
