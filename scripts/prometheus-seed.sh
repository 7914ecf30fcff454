#!/usr/bin/env bash
# A real Prometheus scrapes a run at the seed's load (BENCHMARKS.md "Metrics at the seed's load"): installs Debian's
# `prometheus` when it is missing (apt-get, as root), starts it on a free port with a config for the
# run's endpoints (scraped every second), runs `harness run --metrics-listen` for DURATION seconds, then
# asks Prometheus's HTTP API for the processed rate, the consumer lag, the event-time lag and the result
# latency, and sets its final count beside the run's report. Prometheus and the broker are stopped on
# exit.
# Usage: scripts/prometheus-seed.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"

if ! command -v prometheus >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
fi
# Debian's package may start its own service; this script uses its own instance on a free port.
source scripts/local-broker.sh
free() { python3 scripts/bench.py free_port; }
base=$(free)
prom_port=$(free)
dir=$(mktemp -d)
# harness at base, the job's process at base+1, the seed's 2 producers at base+2 and base+3.
cat >"$dir/prometheus.yml" <<YML
global:
  scrape_interval: 1s
scrape_configs:
  - job_name: adstream
    static_configs:
      - targets: ["127.0.0.1:$base", "127.0.0.1:$((base + 1))", "127.0.0.1:$((base + 2))", "127.0.0.1:$((base + 3))"]
YML
# setpriv: Prometheus dies with this script, even when the script is killed.
setpriv --pdeathsig KILL -- prometheus --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
    --web.listen-address="127.0.0.1:$prom_port" >"$dir/prometheus.log" 2>&1 &
prom_pid=$!
stop_all() {
    kill "$prom_pid" 2>/dev/null || true
    wait "$prom_pid" 2>/dev/null || true
    rm -rf "$dir"
    stop_broker
}
trap stop_all EXIT
until curl -sf "http://127.0.0.1:$prom_port/-/ready" >/dev/null; do
    kill -0 "$prom_pid" 2>/dev/null || { cat "$dir/prometheus.log"; exit 1; }
    sleep 0.2
done
echo "== $(prometheus --version 2>&1 | head -1); scraping every 1 s"
start=$(date +%s)
"$bin/harness" run --bootstrap "$bootstrap" --duration "$duration" --out "$dir/run" \
    --metrics-listen "127.0.0.1:$base" --metrics-linger-ms 3000 2>&1 | grep -E "^metrics:|EXACT|run complete"
end=$(date +%s)
python3 scripts/bench.py prometheus "$prom_port" "$start" "$end" "$dir/run/report.json"
