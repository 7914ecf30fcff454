#!/usr/bin/env bash
# The cost of metrics at the seed's load (BENCHMARKS.md "Metrics at the seed's load"), in one script run on one fresh
# local broker per run: REPEATS pairs of DURATION-second runs, alternating metrics off and on. "On" serves
# every process's metrics (harness run --metrics-listen) and scrapes all of them every second, as
# Prometheus would, for the whole run. Each line has the job's CPU and the end-to-end latency.
# Usage: scripts/bench-metrics.sh [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"
repeats="${2:-3}"

report() {
    python3 scripts/bench.py run_line "$1" "$2"
}

run() {
    local label="$1" metrics="$2"
    (
        source scripts/local-broker.sh
        out=$(mktemp -d)
        args=(--bootstrap "$bootstrap" --duration "$duration" --out "$out")
        scraper=""
        if [ "$metrics" = on ]; then
            base=$(python3 scripts/bench.py free_port)
            args+=(--metrics-listen "127.0.0.1:$base")
            # harness, the job's process, 2 producers: scraped every second while the run lasts (and
            # never past this script: the loop ends when the script is gone).
            ( while kill -0 "$$" 2>/dev/null; do
                  for p in 0 1 2 3; do curl -s -o /dev/null "http://127.0.0.1:$((base + p))/metrics" || true; done
                  sleep 1
              done ) &
            scraper=$!
            trap 'kill "$scraper" 2>/dev/null || true; stop_broker' EXIT
        fi
        "$bin/harness" run "${args[@]}" >/dev/null 2>&1 || { echo "  $label: run failed"; exit 1; }
        report "$out/report.json" "$label"
        rm -rf "$out"
    )
}

echo "== metrics off vs on (scraped every second): 2 producers x 20,000 events/s x ${duration} s, ${repeats} pairs"
for i in $(seq 1 "$repeats"); do
    run "[$i] off" off
    run "[$i] on " on
done
