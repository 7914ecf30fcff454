"""adstream's reference Pathway job: the seed's stream job on Pathway 0.33.

It keeps adstream's engine contract (README, "Any engine"): the run's settings come in ADSTREAM_*
variables; it reads the events topic with Pathway's Kafka connector (JSON, from the earliest offset),
counts each campaign's events in tumbling event-time windows aligned to the run's base time
(`windowby` with `exactly_once_behavior`: each window's result once, when the event time the table has
seen passes the window's end plus ADSTREAM_LATENESS_MS), and writes them to the results topic with
Pathway's Kafka writer as JSON (its own `time` and `diff` fields ride along).

Control records carry a `kind` header and no `campaign_id`: watermarks and end markers have no
`event_time_ns` and are left out; the harness's closing records have one, so once every partition's is
in, their time moves the table's event time — closing the last windows — and counts in no campaign. It prints `ready` once the broker answers.
"""

import json
import os

import pathway as pw
from confluent_kafka.admin import AdminClient

BOOTSTRAP = os.environ["ADSTREAM_BOOTSTRAP"]
EVENTS = os.environ["ADSTREAM_EVENTS_TOPIC"]
RESULTS = os.environ["ADSTREAM_RESULTS_TOPIC"]
PARTITIONS = int(os.environ["ADSTREAM_PARTITIONS"])
WINDOW_NS = int(os.environ["ADSTREAM_WINDOW_S"]) * 1_000_000_000
BASE_NS = int(os.environ["ADSTREAM_BASE_TIME_MS"]) * 1_000_000
LATENESS_NS = int(os.environ.get("ADSTREAM_LATENESS_MS", "0")) * 1_000_000
PROPERTIES = json.loads(os.environ.get("ADSTREAM_KAFKA_PROPERTIES", "{}"))
PRODUCER_PROPERTIES = json.loads(os.environ.get("ADSTREAM_KAFKA_PRODUCER_PROPERTIES", "{}"))


class Record(pw.Schema):
    """The fields of an event that a result needs; absent in control records."""

    event_time_ns: int | None = pw.column_definition(default_value=None)
    campaign_id: int | None = pw.column_definition(default_value=None)
    event_type: str | None = pw.column_definition(default_value=None)
    produce_time: int | None = pw.column_definition(default_value=None)


reading = dict(
    PROPERTIES,
    **{
        "bootstrap.servers": BOOTSTRAP,
        "group.id": "adstream-pathway-" + os.path.basename(os.environ["ADSTREAM_RUN_DIR"]),
        "auto.offset.reset": "earliest",
        "enable.partition.eof": "false",
    },
)
records = pw.io.kafka.read(
    reading, topic=EVENTS, schema=Record, format="json", autocommit_duration_ms=50
)
events = records.filter(pw.this.campaign_id.is_not_none()).select(
    t=pw.unwrap(pw.this.event_time_ns),
    campaign_id=pw.this.campaign_id,
    event_type=pw.this.event_type,
    produce_time=pw.coalesce(pw.this.produce_time, 0),
)
# The closing records (an event time and no campaign), one per partition, each its partition's last:
# their time counts once every partition's is in, so that none still holds events of the windows it
# closes.
closes = records.filter(
    pw.this.campaign_id.is_none() & pw.this.event_time_ns.is_not_none()
).reduce(n=pw.reducers.count(), t=pw.reducers.max(pw.unwrap(pw.this.event_time_ns)))
closing = closes.filter(pw.this.n >= PARTITIONS).select(
    t=pw.this.t,
    campaign_id=pw.declare_type(int | None, None),
    event_type=pw.declare_type(str | None, None),
    produce_time=0,
)
timed = events.concat_reindex(closing)
windows = timed.windowby(
    pw.this.t,
    window=pw.temporal.tumbling(duration=WINDOW_NS, origin=BASE_NS),
    instance=pw.this.campaign_id,
    behavior=pw.temporal.exactly_once_behavior(shift=LATENESS_NS),
).reduce(
    window_start_ns=pw.this._pw_window_start,
    campaign=pw.this._pw_instance,
    count=pw.reducers.count(),
    views=pw.reducers.sum(pw.if_else(pw.this.event_type == "view", 1, 0)),
    clicks=pw.reducers.sum(pw.if_else(pw.this.event_type == "click", 1, 0)),
    purchases=pw.reducers.sum(pw.if_else(pw.this.event_type == "purchase", 1, 0)),
    max_produce_time=pw.reducers.max(pw.this.produce_time),
)
results = windows.filter(pw.this.campaign.is_not_none()).select(
    window_id=(pw.this.window_start_ns - BASE_NS) // WINDOW_NS,
    campaign_id=pw.unwrap(pw.this.campaign),
    count=pw.this.count,
    views=pw.this.views,
    clicks=pw.this.clicks,
    purchases=pw.this.purchases,
    max_produce_time=pw.this.max_produce_time,
)
writing = dict(PRODUCER_PROPERTIES, **{"bootstrap.servers": BOOTSTRAP})
pw.io.kafka.write(results, writing, topic_name=RESULTS, format="json")

AdminClient(dict(PROPERTIES, **{"bootstrap.servers": BOOTSTRAP})).list_topics(EVENTS, timeout=30)
print("ready", flush=True)
pw.run(monitoring_level=pw.MonitoringLevel.NONE)
