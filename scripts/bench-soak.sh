#!/usr/bin/env bash
# A soak under faults (BENCHMARKS.md, "A soak under faults"): `harness run` at the seed's load (2 × 20,000
# events/s) for DURATION seconds, 2 job processes over 4 partitions, with a fault drawn at random about
# every EVERY seconds from SEED (--random-faults), in a network namespace of its own with its own broker.
# Prints the schedule, the run's figures and every fault with its recovery.
# Usage: scripts/bench-soak.sh [DURATION] [EVERY] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-600}"
every="${2:-30}"
seed="${3:-1}"
cargo build --release --quiet
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release")"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if unshare --net sh -c "ip link set lo up && exec '$bin/harness' run --processes 2 --partitions 4 \
        --duration $duration --random-faults $every --fault-seed $seed --out '$out/run'" >"$out/stderr" 2>&1; then
    grep '^random faults' "$out/stderr"
    python3 scripts/bench.py run_line "$out/run/report.json" "soak"
    grep '^verification' "$out/stderr"
else
    grep -v '^\[' "$out/stderr" | tail -n 20
    exit 1
fi
