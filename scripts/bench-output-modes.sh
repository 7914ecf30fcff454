#!/usr/bin/env bash
# The output modes at the seed's load (BENCHMARKS.md, "Output modes"): `harness run` with its defaults for
# DURATION seconds in append mode, in update mode with a 1000 ms interval and with a 100 ms one,
# alternating, REPEATS rounds, each run with its own broker in a network namespace of its own. Prints
# each run's CPU, end-to-end latency of the final results, exactness and, in update mode, the revisions
# and their freshness.
# Usage: scripts/bench-output-modes.sh [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"
repeats="${2:-2}"
cargo build --release --quiet
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release")"

for i in $(seq 1 "$repeats"); do
    for mode in append update-1000 update-100; do
        case "$mode" in
            append) flags="" ;;
            update-1000) flags="--output update --update-interval-ms 1000" ;;
            update-100) flags="--output update --update-interval-ms 100" ;;
        esac
        out=$(mktemp -d)
        if unshare --net sh -c "ip link set lo up && exec '$bin/harness' run $flags --duration $duration \
                --out '$out/run'" >"$out/stderr" 2>&1; then
            python3 scripts/bench.py run_line "$out/run/report.json" "[$i] $mode"
        else
            echo "  [$i] $mode: run failed: $(tail -n 1 "$out/stderr")"
        fi
        rm -rf "$out"
    done
done
