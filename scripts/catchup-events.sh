# Sourced by the catch-up benchmarks after local-broker.sh: creates the topics on $bootstrap with
# $catchup_partitions partitions (default 4) and fills the events topic from 2 unpaced producers, each
# sending 100,000 events per second of event time for $catchup_seconds (default 50: 10,000,000 events
# in all); sets $base.
catchup_partitions="${catchup_partitions:-4}"
catchup_seconds="${catchup_seconds:-50}"
"$bin/harness" topics create --bootstrap "$bootstrap" --partitions "$catchup_partitions" >/dev/null
base=$(date +%s%3N)
echo "== filling: 2 unpaced producers × $((catchup_seconds * 100000)) uniform events into $catchup_partitions partitions"
fillers=()
for id in 0 1; do
    "$bin/producer" --bootstrap "$bootstrap" --id $id --base-time-ms "$base" --generator uniform \
        --rate 100000 --duration "$catchup_seconds" --unpaced >/dev/null &
    fillers+=($!)
done
wait "${fillers[@]}"
