#!/usr/bin/env bash
# adstream through the engine contract against a plain run (BENCHMARKS.md "Engines"): `harness run`
# and `harness run --engine adstream` at the seed's load for DURATION s, alternately, REPEATS times
# each on one fresh local broker; prints each run's verdict and end-to-end latency.
# Usage: scripts/bench-engine-adstream.sh [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-60}"
repeats="${2:-3}"
source scripts/local-broker.sh
for i in $(seq 1 "$repeats"); do
    for how in run engine; do
        out=$(mktemp -d)
        extra=()
        [ "$how" = engine ] && extra=(--engine adstream)
        "$bin/harness" run --bootstrap "$bootstrap" --duration "$duration" --ui off --out "$out" \
            "${extra[@]}" >/dev/null 2>"$out/run.log" || true
        python3 - "$out" "$how" "$i" <<'PY'
import json, sys
out, how, i = sys.argv[1:]
try:
    r = json.load(open(f"{out}/report.json"))
except FileNotFoundError:
    print(f"  [{i}] {how:<6} failed: " + open(f"{out}/run.log").read().strip().splitlines()[-1])
    sys.exit()
l, v = r["latency_ms"], r["verification"]
print(f"  [{i}] {how:<6} {'EXACT' if v['exact'] else 'NOT EXACT'} {v['events']} events, "
      f"end to end p50 {l['p50']:.1f} p90 {l['p90']:.1f} p99 {l['p99']:.1f} max {l['max']:.1f} ms, "
      f"job CPU {r['cpu_s']['job']:.1f} s")
PY
        rm -rf "$out"
    done
done
