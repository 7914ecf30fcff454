"""Fills a topic with events in the seed's byte layout, fast: the events of tests/python/seed_producer.py
(``json.dumps`` of the seed's schema: spaces, the seed's field order, no headers, no key), sent with
confluent-kafka (librdkafka) instead of kafka-python, which writes ~8,000 events/s here — too slow to
fill millions for the catch-up benchmark. Needs a Python with confluent-kafka
(scripts/bench-catchup-layouts.sh makes one).

    python seed-layout-fill.py --bootstrap 127.0.0.1:9092 --topic events --seconds 20 --per-second 50000

Prints one JSON line when done: the base it used and how many events the broker acknowledged.
"""

import json
import os
import random
import sys
import time

from confluent_kafka import Producer

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "python"))
from seed_producer import arguments, seed_event  # noqa: E402  (one copy of the seed's layout)


def main():
    args = arguments(__doc__.splitlines()[0]).parse_args()

    rng = random.Random(args.seed)
    base = args.base if args.base is not None else int(time.time())
    # Larger batches than the client's default: this fills a topic ahead of a run, nothing waits on it.
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 20})
    acked = 0
    failed = 0

    def on_delivery(error, _message):
        nonlocal acked, failed
        if error is None:
            acked += 1
        else:
            failed += 1

    for second in range(args.seconds):
        for _ in range(args.per_second):
            value = json.dumps(seed_event(rng, base, second, args.window)).encode()
            while True:
                try:
                    producer.produce(args.topic, value, on_delivery=on_delivery)
                    break
                except BufferError:
                    # The client's queue is full: let it send and come back.
                    producer.poll(0.05)
            producer.poll(0)
    producer.flush()
    print(json.dumps({"base": base, "acked": acked, "failed": failed}))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
