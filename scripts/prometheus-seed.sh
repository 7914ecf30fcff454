#!/usr/bin/env bash
# A real Prometheus scrapes a run at the seed's load (BENCHMARKS.md, issue 12): installs Debian's
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
free() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
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
python3 - "$prom_port" "$start" "$end" "$dir/run/report.json" <<'PY'
import json, sys, urllib.parse, urllib.request
port, start, end, report = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
span = f"{end - start}s"
mid = start + (end - start) // 2

def query(q, at):
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q, "time": at})
    answer = json.load(urllib.request.urlopen(url))
    assert answer["status"] == "success", answer
    return [(r["metric"], float(r["value"][1])) for r in answer["data"]["result"]]

def one(q, at):
    values = query(q, at)
    return values[0][1] if values else float("nan")

r = json.load(open(report))
targets = query(f"max_over_time(up[{span}])", end)
print(f"  targets scraped: {len(targets)}, all up: {all(v == 1 for _, v in targets)}")
print(f"  processed rate mid-run (rate over 10 s): {one('sum(rate(adstream_job_events_processed_total[10s]))', mid):,.0f} events/s")
print(f"  sent rate mid-run: {one('sum(rate(adstream_producer_events_sent_total[10s]))', mid):,.0f} events/s")
print(f"  consumer lag: max over the run {one(f'max(max_over_time(adstream_job_consumer_lag[{span}]))', end):.0f} records, "
      f"last {one('sum(last_over_time(adstream_job_consumer_lag[10s]))', end):.0f}")
print(f"  event-time lag: max over the run {one(f'max(max_over_time(adstream_job_event_time_lag_seconds[{span}]))', end) * 1000:.0f} ms")
p90 = one(f"histogram_quantile(0.9, sum by (le) (increase(adstream_job_result_latency_seconds_bucket[{span}])))", end)
print(f"  result latency p90 (histogram buckets): {p90 * 1000:.0f} ms; the report's end-to-end p90: {r['latency_ms']['p90']:.0f} ms")
final = one("sum(last_over_time(adstream_job_events_processed_total[10s]))", end)
print(f"  processed, last scraped: {final:,.0f}; the report's: {r['events']['processed']:,}; equal: {final == r['events']['processed']}")
PY
