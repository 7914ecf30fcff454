#!/usr/bin/env bash
# What the live page costs (BENCHMARKS.md, "The live page"): `harness run` at the seed's load for
# DURATION seconds in three ways, REPEATS rounds, each round in another order (so that what drifts over
# a round does not fall on one way), each run with its own broker in a network namespace of its own:
# - off: --ui off;
# - polled: the page served and its timeline fetched once a second, as the page does (curl): what
#   serving the page costs the run;
# - browser: the page open in a headless Chromium on the same 2 cores (its drawing competes with the
#   run for them; a person's browser runs elsewhere).
# Prints each run's CPU (job, producers, harness), end-to-end latency and exactness.
# Usage: scripts/bench-live-page.sh [DURATION] [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
duration="${1:-30}"
repeats="${2:-2}"
cargo build --release --quiet
bin="$(realpath "${CARGO_TARGET_DIR:-target}/release")"

modes=(off polled browser)
for i in $(seq 1 "$repeats"); do
    for k in 0 1 2; do
        mode="${modes[$(( (i + k) % 3 ))]}"
        out=$(mktemp -d)
        case "$mode" in
            off) run="exec '$bin/harness' run --ui off --duration $duration --out '$out/run'" ;;
            polled) watch="while curl -sf -o /dev/null http://127.0.0.1:4040/timeline.json; do sleep 1; done" ;;
            browser) watch="exec chromium --headless --no-sandbox --disable-gpu --remote-debugging-port=0 http://127.0.0.1:4040/" ;;
        esac
        if [ "$mode" != off ]; then
            # The watcher starts once the page answers and is stopped when the run ends.
            run="'$bin/harness' run --ui 127.0.0.1:4040 --duration $duration --out '$out/run' &
                harness=\$!
                until curl -sf -o /dev/null http://127.0.0.1:4040/; do sleep 0.1; done
                sh -c \"$watch\" >/dev/null 2>&1 &
                watcher=\$!
                wait \$harness; status=\$?
                pkill -P \$watcher 2>/dev/null; kill \$watcher 2>/dev/null; wait \$watcher 2>/dev/null || true
                exit \$status"
        fi
        if unshare --net sh -c "ip link set lo up && $run" >"$out/stderr" 2>&1; then
            python3 scripts/bench.py run_line "$out/run/report.json" "[$i] $mode"
        else
            echo "  [$i] $mode: run failed: $(tail -n 1 "$out/stderr")"
        fi
        rm -rf "$out"
    done
done
