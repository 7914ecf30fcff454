#!/usr/bin/env bash
# Issue 13, point 2: a producer's CPU per event paced (waking for every event, and at most once per
# 2 ms tick, the default) against unpaced with the same events, at 20,000 and 100,000 events/s, in one
# script run on one fresh local broker (fresh topics per run), alternating, REPEAT times. Prints each
# run's CPU per event and schedule lag p99, then the medians and the ratios to unpaced.
# Usage: scripts/bench-pacing.sh [SECONDS] [REPEAT]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-15}"
repeat="${2:-3}"
source scripts/local-broker.sh
runs=$(mktemp)
trap 'rm -f "$runs"; stop_broker' EXIT

for rate in 20000 100000; do
    for i in $(seq "$repeat"); do
        for mode in every-event tick-2ms unpaced; do
            case "$mode" in
                every-event) flags=(--pacing-tick-us 0) ;;
                tick-2ms) flags=(--pacing-tick-us 2000) ;;
                unpaced) flags=(--unpaced) ;;
            esac
            "$bin/harness" topics clear --bootstrap "$bootstrap" --partitions 2 >/dev/null
            summary=$("$bin/producer" --bootstrap "$bootstrap" --rate "$rate" --duration "$seconds" \
                --generator poisson "${flags[@]}" 2>/dev/null | tail -1)
            echo "$rate $mode $summary" >>"$runs"
        done
    done
done

python3 - "$runs" <<'EOF'
import json, statistics, sys
rows = {}
for line in open(sys.argv[1]):
    rate, mode, summary = line.split(" ", 2)
    s = json.loads(summary)["producer_summary"]
    if s["failed"] or s["delivered"] != s["events"]:
        sys.exit(f"{rate} {mode}: {s['failed']} failed, {s['delivered']} of {s['events']} delivered")
    us = 1e6 * s["cpu_s"] / s["events"]
    rows.setdefault((int(rate), mode), []).append((us, s["lag_p99_ms"], s["events"]))
    print(f"{rate:>7} events/s  {mode:<12} {s['events']:>9,} events  {us:5.2f} µs/event  lag p99 {s['lag_p99_ms']:.2f} ms")
print()
print("| events/s | paced, every event | paced, 2 ms tick | unpaced | every event / unpaced | tick / unpaced | lag p99, every event | lag p99, tick |")
print("| --- | --- | --- | --- | --- | --- | --- | --- |")
for rate in sorted({r for r, _ in rows}):
    med = {m: statistics.median(u for u, _, _ in rows[(rate, m)]) for m in ("every-event", "tick-2ms", "unpaced")}
    lag = {m: statistics.median(l for _, l, _ in rows[(rate, m)]) for m in ("every-event", "tick-2ms")}
    print(f"| {rate:,} | {med['every-event']:.2f} µs | {med['tick-2ms']:.2f} µs | {med['unpaced']:.2f} µs "
          f"| {med['every-event'] / med['unpaced']:.2f} | {med['tick-2ms'] / med['unpaced']:.2f} "
          f"| {lag['every-event']:.2f} ms | {lag['tick-2ms']:.2f} ms |")
EOF
