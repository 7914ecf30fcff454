# Sourced by the benchmark scripts: builds the release binaries (once per script), sets $bin, and starts a local broker on a
# free loopback port ($bootstrap), stopped when the script exits.
# Built once per script: a script that starts a broker per run does not rebuild between runs.
if [ -z "${adstream_built:-}" ]; then
    cargo build --release --quiet
    adstream_built=1
fi
bin="${CARGO_TARGET_DIR:-target}/release"
port=$(python3 scripts/bench.py free_port)
bootstrap="127.0.0.1:$port"
broker_log=$(mktemp)
"$bin/harness" broker --listen "$bootstrap" >"$broker_log" 2>&1 &
broker_harness_pid=$!
stop_broker() {
    kill "$broker_harness_pid" 2>/dev/null || true
    # The broker stops with the harness (SIGTERM); this only catches one left by an older build.
    pkill -f "tansu broker --listener-url tcp://$bootstrap" || true
    rm -f "$broker_log"
}
trap stop_broker EXIT
# The CPU time the broker has used so far, ms (call it before and after what is measured).
broker_cpu_ms() {
    local pid
    pid=$(pgrep -f "tansu broker --listener-url tcp://$bootstrap")
    echo $(( $(awk '{print $14+$15}' "/proc/$pid/stat") * 1000 / $(getconf CLK_TCK) ))
}
until grep -q listening "$broker_log"; do
    kill -0 "$broker_harness_pid" 2>/dev/null || { cat "$broker_log"; exit 1; }
    sleep 0.2
done
