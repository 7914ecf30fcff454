#!/usr/bin/env bash
# Engines compared (BENCHMARKS.md "Engines"): `harness compare` of adstream, Spark, Pathway and Bytewax
# on one workload — 2 producers × RATE events/s for DURATION s, poisson, 2 partitions, 10 s windows —
# each REPEAT times on fresh topics of one fresh local broker; prints the table and keeps compare.html,
# compare.csv and compare.svg in OUT.
# Usage: scripts/bench-compare.sh [RATE] [DURATION] [REPEAT] [OUT] [ENGINES]
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-20000}"
duration="${2:-60}"
repeat="${3:-1}"
out="${4:-$(mktemp -d)}"
engines="${5:-adstream,spark,pathway,bytewax}"
source scripts/local-broker.sh
"$bin/harness" compare --bootstrap "$bootstrap" --engines "$engines" --rate "$rate" \
    --duration "$duration" --repeat "$repeat" --ui off --out "$out" 2>"$out/compare.log" || true
grep -E "run [0-9]+/[0-9]+:" "$out/compare.log" || true
python3 - "$out" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(f"{sys.argv[1]}/compare.csv")))
for r in rows:
    print(f"  {r['engine']:<9} {r['verdict']:<9} p50 {r['p50_ms']} p90 {r['p90_ms']} p99 {r['p99_ms']} ms, "
          f"{r['events_per_s']} events/s, {r['cores']} cores, {r['peak_memory_mib']} MiB, "
          f"first result {r['first_result_s']} s {r['failures']}")
PY
echo "  files in $out"
