"""A stream job of another engine, written the way a student would write one with kafka-python: the
end-to-end tests run it through adstream's engine contract (`harness run --job`), right and wrong.

It reads every partition of $ADSTREAM_EVENTS_TOPIC from the beginning (assign, no consumer group),
skips control records (they carry a `kind` header) except that a closing record's event time moves the
partition's clock, counts each campaign's events per `window_id`, and writes one JSON result per
(window, campaign) to $ADSTREAM_RESULTS_TOPIC once every partition's clock is past the window's end
plus $ADSTREAM_LATENESS_MS. It prints `ready` once it has its partitions.

Faults, to prove the harness catches them:
  --drop-every N    leaves out every Nth event it reads
  --twice W/C       writes the result of window W, campaign C twice, the second with one more event
  --fail-at-start   exits 3 at once, saying why on stderr
  --never-ready     never prints `ready` (and reads nothing)
  --tag TEXT        names this run of it on its command line, for a test to find its processes
"""

import argparse
import json
import os
import sys
import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--drop-every", type=int, default=0)
    parser.add_argument("--twice", default=None)
    parser.add_argument("--fail-at-start", action="store_true")
    parser.add_argument("--never-ready", action="store_true")
    parser.add_argument("--tag", default="")
    args = parser.parse_args()
    if args.fail_at_start:
        print("engine_job: cannot start: the fault asked for (--fail-at-start)", file=sys.stderr)
        sys.exit(3)
    if args.never_ready:
        while True:
            time.sleep(3600)

    bootstrap = os.environ["ADSTREAM_BOOTSTRAP"]
    events = os.environ["ADSTREAM_EVENTS_TOPIC"]
    results = os.environ["ADSTREAM_RESULTS_TOPIC"]
    partitions = int(os.environ["ADSTREAM_PARTITIONS"])
    window_ns = int(os.environ["ADSTREAM_WINDOW_S"]) * 1_000_000_000
    base_ns = int(os.environ["ADSTREAM_BASE_TIME_MS"]) * 1_000_000
    lateness_ns = int(os.environ["ADSTREAM_LATENESS_MS"]) * 1_000_000

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    assigned = [TopicPartition(events, p) for p in range(partitions)]
    consumer.assign(assigned)
    consumer.seek_to_beginning(*assigned)
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    print("ready", flush=True)

    clock = {p: 0 for p in range(partitions)}
    tallies = {}
    seen = 0
    written = set()
    while True:
        for tp, records in consumer.poll(timeout_ms=50).items():
            for record in records:
                value = json.loads(record.value)
                # Events and closing records have an event time; watermarks and end markers not.
                clock[tp.partition] = max(clock[tp.partition], value.get("event_time_ns", 0))
                if any(key == "kind" for key, _ in record.headers or []):
                    continue
                seen += 1
                if args.drop_every and seen % args.drop_every == 0:
                    continue
                key = (value["window_id"], value["campaign_id"])
                t = tallies.setdefault(key, {"count": 0, "views": 0, "clicks": 0, "purchases": 0,
                                             "max_produce_time": 0})
                t["count"] += 1
                t[value["event_type"] + "s"] += 1
                t["max_produce_time"] = max(t["max_produce_time"], value["produce_time"])
        horizon = min(clock.values())
        for (window, campaign), t in sorted(tallies.items()):
            end_ns = base_ns + (window + 1) * window_ns
            if (window, campaign) in written or horizon < end_ns + lateness_ns:
                continue
            written.add((window, campaign))
            result = dict(t, window_id=window, campaign_id=campaign)
            producer.send(results, key=f"{window}/{campaign}".encode(), value=json.dumps(result).encode())
            if args.twice == f"{window}/{campaign}":
                again = dict(result, count=result["count"] + 1)
                producer.send(results, key=f"{window}/{campaign}".encode(), value=json.dumps(again).encode())
        producer.flush()


if __name__ == "__main__":
    main()
