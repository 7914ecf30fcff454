# Sourced by the catch-up benchmarks after local-broker.sh: creates the topics (4 partitions) on
# $bootstrap and fills the events topic with 10,000,000 events from 2 unpaced producers; sets $base.
"$bin/harness" topics create --bootstrap "$bootstrap" --partitions 4 >/dev/null
base=$(date +%s%3N)
echo "== filling: 2 unpaced producers × 5,000,000 uniform events into 4 partitions"
fillers=()
for id in 0 1; do
    "$bin/producer" --bootstrap "$bootstrap" --id $id --base-time-ms "$base" --generator uniform \
        --rate 100000 --duration 50 --unpaced >/dev/null &
    fillers+=($!)
done
wait "${fillers[@]}"
