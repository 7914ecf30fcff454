#!/usr/bin/env bash
# Capacity of the default configuration (BENCHMARKS.md): `harness capacity` with the seed's defaults —
# 2 producers, poisson, 2 partitions, the job on 1 worker — DURATION-second runs from 40,000 events/s
# (the seed's load) upward, on a fresh local broker.
# Usage: scripts/bench-capacity.sh [DURATION] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
steps="${2:-2}"
source scripts/local-broker.sh
out=$(mktemp -d)
"$bin/harness" capacity --bootstrap "$bootstrap" --duration "$duration" --steps "$steps" \
    --from 40000 --max-rate 640000 --out "$out" 2> >(grep -E "^(capacity|  [0-9])" >&2)
rm -rf "$out"
