#!/usr/bin/env bash
# The capacity search of BENCHMARKS.md ("Capacity and its parts", part 1) for a before/after comparison:
# `harness capacity --partitions 4` (2 paced producers, the job on 1 worker, DURATION-second runs from
# 160,000 events/s upward, doubling, then STEPS bisections) with this checkout's binaries and then with
# those built from OTHER_COMMIT, in one script run. Each search's harness starts its broker on the
# default address (127.0.0.1:9092, which must be free) and measures its CPU.
# Usage: scripts/bench-capacity-vs.sh OTHER_COMMIT [DURATION] [STEPS]
set -euo pipefail
cd "$(dirname "$0")/.."
other="$1"
duration="${2:-20}"
steps="${3:-2}"
source scripts/local-broker.sh
source scripts/other-build.sh
stop_broker
out=$(mktemp -d)
trap 'rm -rf "$out"; git worktree remove --force "$worktree"' EXIT

for which in this "$other"; do
    harness="$bin/harness"
    [ "$which" = this ] || harness="$other_bin/harness"
    echo "== $which"
    "$harness" capacity --partitions 4 --duration "$duration" --steps "$steps" \
        --from 160000 --max-rate 1280000 --out "$out/$which" 2> >(grep -E "^(capacity|  [0-9])" >&2)
    python3 scripts/bench.py capacity_cpu "$out/$which" "$(nproc)"
done
