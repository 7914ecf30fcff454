"""A producer written the way the seed project's Python producers are: kafka-python, no pacing, a batch
of events per logical second counted from ``base = int(time.time())``, the event JSON of the seed's
schema as the value, no headers and no key.

The end-to-end tests run it as a real foreign client of the broker (``tests/tests/foreign_producers.rs``).

    python seed_producer.py --bootstrap 127.0.0.1:9092 --topic events --seconds 12 --per-second 500

Prints one JSON line when done: the base it used and how many events the broker acknowledged.
"""

import argparse
import ipaddress
import json
import random
import sys
import time
import uuid

AD_TYPES = ["image", "video", "carousel", "text", "story", "shopping", "collection"]
EVENT_TYPES = ["view", "click", "purchase"]


def seed_event(rng, base, second, window):
    """One event of the seed's schema in the seed's field order, at a random moment of logical second
    ``second`` after ``base`` (Unix seconds); ``json.dumps`` of it is the seed's byte layout."""
    event_time_ns = (base + second) * 1_000_000_000 + rng.randrange(1_000_000_000)
    return {
        "user_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "page_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ad_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "ad_type": rng.choice(AD_TYPES),
        "event_type": rng.choice(EVENT_TYPES),
        "event_time_ns": event_time_ns,
        "window_id": (event_time_ns - base * 1_000_000_000) // (window * 1_000_000_000),
        "ip_address": str(ipaddress.IPv4Address(rng.getrandbits(32))),
        "campaign_id": rng.randint(1, 10),
        "produce_time": int(time.time() * 1000),
    }


def arguments(description):
    """The command line of a producer of seed events (this one and scripts/seed-layout-fill.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--seconds", type=int, required=True, help="logical seconds of events")
    parser.add_argument("--per-second", type=int, required=True, help="events per logical second")
    parser.add_argument("--window", type=int, default=10, help="window size in seconds")
    parser.add_argument("--base", type=int, help="base time in Unix seconds (default: now, as the seed)")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main():
    args = arguments(__doc__.splitlines()[0]).parse_args()

    # Imported here so that seed_event can be used without kafka-python (scripts/seed-layout-fill.py).
    from kafka import KafkaProducer

    rng = random.Random(args.seed)
    base = args.base if args.base is not None else int(time.time())
    producer = KafkaProducer(bootstrap_servers=args.bootstrap, linger_ms=5)
    acked = 0
    failed = []

    def on_ack(_metadata):
        nonlocal acked
        acked += 1

    for second in range(args.seconds):
        for _ in range(args.per_second):
            event = seed_event(rng, base, second, args.window)
            future = producer.send(args.topic, json.dumps(event).encode())
            future.add_callback(on_ack)
            future.add_errback(failed.append)
    producer.flush()
    producer.close()
    print(json.dumps({"base": base, "acked": acked, "failed": len(failed)}))
    return 0 if not failed else 1


if __name__ == "__main__":
    sys.exit(main())
