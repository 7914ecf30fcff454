#!/usr/bin/env bash
# Job memory over a long run at a constant rate (BENCHMARKS.md): `harness run` at the seed's load
# (2 producers × 20,000 events/s, poisson, 2 partitions, 1 worker) for DURATION seconds against a fresh
# local broker, sampling the job process's resident memory every 10 s.
# Usage: scripts/bench-job-memory.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-180}"
cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-target}/release"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
bootstrap="127.0.0.1:$port"
log=$(mktemp)
out=$(mktemp -d)
"$bin/harness" broker --listen "$bootstrap" >"$log" 2>&1 &
harness_pid=$!
trap 'kill $harness_pid 2>/dev/null; pkill -f "tansu broker --listener-url tcp://$bootstrap" || true; rm -rf "$log" "$out"' EXIT
until grep -q listening "$log"; do
    kill -0 $harness_pid 2>/dev/null || { cat "$log"; exit 1; }
    sleep 0.2
done
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
