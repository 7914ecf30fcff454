#!/usr/bin/env bash
# The local broker's storage (BENCHMARKS.md, "A broker that comes back"): `harness run` with memory and
# with SQLite storage (--broker-storage) at 2 × 200, 2 × 2,000, 2 × 20,000 (the seed's load) and
# 2 × 100,000 events/s, DURATION seconds each, alternating. Each run starts its own broker on the default
# address inside a network namespace of its own (so nothing else on this machine is in the way). Prints
# each run's CPU, end-to-end latency and exactness on one line, or how it failed.
# Usage: scripts/bench-broker-storage.sh [DURATION]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-20}"
cargo build --release --quiet
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release")"
"$bin/harness" broker --install-only --with-sql >/dev/null

for rate in 200 2000 20000 100000; do
    for storage in memory sqlite; do
        out=$(mktemp -d)
        label="$storage, 2 × $rate/s"
        if unshare --net sh -c "ip link set lo up && exec '$bin/harness' run --broker-storage $storage \
                --rate $rate --duration $duration --out '$out/run'" >"$out/stderr" 2>&1; then
            python3 scripts/bench.py run_line "$out/run/report.json" "$label"
        else
            echo "  $label: run failed: $(tail -n 1 "$out/stderr")"
        fi
        rm -rf "$out"
    done
done
