"""adstream's reference Bytewax job: the seed's stream job on Bytewax 0.21.

It keeps adstream's engine contract (README, "Any engine"): the run's settings come in ADSTREAM_*
variables; it reads the events topic with Bytewax's Kafka source (every partition from the beginning,
no consumer group), skips control records (they carry a `kind` header) except that a closing record's
event time moves its clock, counts each campaign's events in 10-second event-time windows aligned to
the run's base time (Bytewax's tumbling windower and event clock, its watermark ADSTREAM_LATENESS_MS
behind the largest event time), and writes one JSON result per (window, campaign) to the results topic
with Bytewax's Kafka sink when the window closes. It prints `ready` once its source can reach the
broker.
"""

import json
import os
import sys
from datetime import datetime, timedelta, timezone

import bytewax.operators as op
import bytewax.operators.windowing as win
from bytewax.connectors.kafka import KafkaSinkMessage, KafkaSink, KafkaSource
from bytewax.dataflow import Dataflow
from bytewax.operators.windowing import EventClock, TumblingWindower
from bytewax.testing import run_main
from confluent_kafka.admin import AdminClient

BOOTSTRAP = os.environ["ADSTREAM_BOOTSTRAP"]
EVENTS = os.environ["ADSTREAM_EVENTS_TOPIC"]
RESULTS = os.environ["ADSTREAM_RESULTS_TOPIC"]
WINDOW = timedelta(seconds=int(os.environ["ADSTREAM_WINDOW_S"]))
BASE = datetime.fromtimestamp(int(os.environ["ADSTREAM_BASE_TIME_MS"]) / 1000, tz=timezone.utc)
LATENESS = timedelta(milliseconds=int(os.environ.get("ADSTREAM_LATENESS_MS", "0")))
PROPERTIES = json.loads(os.environ.get("ADSTREAM_KAFKA_PROPERTIES", "{}"))
PRODUCER_PROPERTIES = json.loads(os.environ.get("ADSTREAM_KAFKA_PRODUCER_PROPERTIES", "{}"))
PARTITIONS = int(os.environ["ADSTREAM_PARTITIONS"])
# The closing records stand for every campaign seen so far: each key's clock sees their time. Each is
# its partition's last record, and Bytewax reads each partition on its own, a batch at a time: the
# closing time counts only once every partition's closing record is in, so that no partition still
# holds events of the windows it closes.
CLOSE = "close"
campaigns_seen = set()
closed_partitions = set()


def parse(message):
    """The keyed items of one record: an event under its campaign, the closing time under every
    campaign seen once every partition's closing record is in, nothing for other control records."""
    kind = dict(message.headers or []).get("kind")
    value = json.loads(message.value)
    if kind is None:
        campaign = str(value["campaign_id"])
        campaigns_seen.add(campaign)
        return [(campaign, value)]
    if kind == b"close":
        closed_partitions.add(message.partition)
        if len(closed_partitions) == PARTITIONS:
            return [(c, dict(value, event_type=CLOSE)) for c in sorted(campaigns_seen)]
    return []


def event_time(value):
    return datetime.fromtimestamp(value["event_time_ns"] / 1e9, tz=timezone.utc)


def new_tally():
    return {"count": 0, "views": 0, "clicks": 0, "purchases": 0, "max_produce_time": 0}


def add(tally, value):
    kind = value["event_type"]
    if kind == CLOSE:
        return tally
    tally["count"] += 1
    tally[kind + "s"] += 1
    tally["max_produce_time"] = max(tally["max_produce_time"], value["produce_time"])
    return tally


def merge(a, b):
    merged = {k: a[k] + b[k] for k in ("count", "views", "clicks", "purchases")}
    merged["max_produce_time"] = max(a["max_produce_time"], b["max_produce_time"])
    return merged


def result(item):
    campaign, (window_id, tally) = item
    start_ms = int((BASE + WINDOW * window_id).timestamp() * 1000)
    record = dict(tally, window_id=window_id, window_start=start_ms, campaign_id=int(campaign))
    return KafkaSinkMessage(key=f"{window_id}/{campaign}".encode(), value=json.dumps(record).encode())


flow = Dataflow("adstream")
source = KafkaSource([BOOTSTRAP], [EVENTS], add_config=PROPERTIES, batch_size=5000)
records = op.input("events", flow, source)
keyed = op.flat_map("parse", records, parse)
clock = EventClock(event_time, wait_for_system_duration=LATENESS)
windows = win.fold_window(
    "count", keyed, clock, TumblingWindower(length=WINDOW, align_to=BASE), new_tally, add, merge
)
counted = op.filter("not empty", windows.down, lambda item: item[1][1]["count"] > 0)
op.inspect("late", windows.late, lambda _step, item: print(f"late: {item}", file=sys.stderr))
op.output("results", op.map("to json", counted, result), KafkaSink([BOOTSTRAP], RESULTS, add_config=PRODUCER_PROPERTIES))

# Ready once the broker answers: the source then reads every partition from its beginning.
AdminClient(dict(PROPERTIES, **{"bootstrap.servers": BOOTSTRAP})).list_topics(EVENTS, timeout=30)
print("ready", flush=True)
run_main(flow)
