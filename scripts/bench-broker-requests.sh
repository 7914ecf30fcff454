#!/usr/bin/env bash
# BENCHMARKS.md "The broker's work per event": `harness run` at the seed's load (its defaults: 2 producers ×
# 20,000 events/s, poisson, 2 partitions, the job on 1 worker) for DURATION seconds, with this checkout's
# binaries and with those built from another commit, alternating, REPEATS rounds. Each build runs twice per
# round: on a broker the harness starts (the report's CPU of the broker over the run, and the run's end-to-end
# latency), and through a relay that counts every Kafka request (scripts/kafka-tap.py) to a broker started
# here (requests per second by API). Further arguments go to `harness run`.
# Usage: scripts/bench-broker-requests.sh OTHER_COMMIT [DURATION] [REPEATS] [HARNESS RUN ARGS...]
set -euo pipefail
cd "$(dirname "$0")/.."
other="$1"
duration="${2:-30}"
repeats="${3:-2}"
shift $(( $# < 3 ? $# : 3 ))
extra=("$@")
source scripts/local-broker.sh
source scripts/other-build.sh
stop_broker
tansu="$HOME/.cache/adstream/bin/tansu"

for i in $(seq 1 "$repeats"); do
    for which in this "$other"; do
        (
            harness="$bin/harness"
            [ "$which" = this ] || harness="$other_bin/harness"
            out=$(mktemp -d)
            trap 'rm -rf "$out"' EXIT
            "$harness" run --ui off --duration "$duration" "${extra[@]}" --out "$out/own" >/dev/null 2>"$out/own.err" \
                || { echo "  [$i] $which: run failed"; tail -2 "$out/own.err"; exit 1; }
            broker_port=$(python3 scripts/bench.py free_port)
            tap_port=$(python3 scripts/bench.py free_port)
            python3 scripts/kafka-tap.py "$tap_port" "127.0.0.1:$broker_port" "$out/requests.json" >"$out/tap.log" &
            tap=$!
            "$tansu" broker --listener-url "tcp://127.0.0.1:$broker_port" \
                --advertised-listener-url "tcp://127.0.0.1:$tap_port" --storage-engine memory://tansu/ \
                >"$out/broker.log" 2>&1 &
            broker=$!
            trap 'kill $tap $broker 2>/dev/null || true; rm -rf "$out"' EXIT
            until grep -q listening "$out/tap.log"; do sleep 0.1; done
            "$harness" run --bootstrap "127.0.0.1:$tap_port" --ui off --duration "$duration" "${extra[@]}" \
                --out "$out/tapped" >/dev/null 2>"$out/tapped.err" \
                || { echo "  [$i] $which: run through the relay failed"; tail -2 "$out/tapped.err"; exit 1; }
            kill "$tap"; wait "$tap" || true
            python3 scripts/bench.py requests_line "$out/own/report.json" "$out/tapped/report.json" \
                "$out/requests.json" "[$i] $which"
        )
    done
done
