#!/usr/bin/env bash
# The scaling sweep of BENCHMARKS.md: partitions 1,2,4,8 × workers 1,2 × processes 1,2, 2 producers at
# RATE events/s each (poisson) for DURATION seconds per run, REPEAT runs per cell, on one fresh local
# broker (fresh topics per run). Writes sweep.csv, sweep.svg and the table into OUT.
# Usage: scripts/bench-sweep.sh [RATE] [DURATION] [REPEAT] [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
rate="${1:-120000}"
duration="${2:-20}"
repeat="${3:-1}"
out="${4:-out/bench-sweep}"
source scripts/local-broker.sh
rm -rf "$out"
"$bin/harness" sweep --bootstrap "$bootstrap" --partitions 1,2,4,8 --workers 1,2 --processes 1,2 \
    --rate "$rate" --duration "$duration" --repeat "$repeat" --out "$out" \
    2> >(grep -E "^(sweep|cell|  run failed)" >&2) | tee "$out.table"
