"""SparkJob.py — the stream job the seed project asks for (its ARCHITECTURE, section 5), on Spark
Structured Streaming 4, keeping adstream's engine contract (README, "Any engine").

It reads the events topic, counts each campaign's events and their largest produce_time in tumbling
event-time windows of ADSTREAM_WINDOW_S seconds aligned to the run's base time, with a watermark
ADSTREAM_LATENESS_MS behind the largest event time, and writes one JSON result per (window, campaign)
to the results topic when the watermark passes the window (append mode). Spark checkpoints its offsets
and state in the run's directory.

Reading Kafka: Spark's own Kafka source needs the spark-sql-kafka-0-10 jar (with kafka-clients) from
Maven. When ADSTREAM_SPARK_KAFKA_JARS names those jars (comma-separated paths), it is used
(`format("kafka")`); without them this job reads through Spark 4's Python data source API: a
`DataSourceStreamReader` whose offsets are each partition's next offset — kept in Spark's checkpoint —
and whose input partitions are each Kafka partition's offset range, read with confluent-kafka
(librdkafka) by `assign()`, in offset order, and checked to be contiguous. Results go out through `foreachBatch` with a
confluent-kafka producer (Spark's Kafka sink needs the same jar).

Control records carry a `kind` header: watermarks and end markers are dropped; the harness's closing
record keeps its event time, so it moves the watermark past the last window, and counts in no campaign.
It prints `ready` once its query has started.
"""

import json
import os
import sys
import threading

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.datasource import DataSource, DataSourceStreamReader, InputPartition

BOOTSTRAP = os.environ["ADSTREAM_BOOTSTRAP"]
EVENTS = os.environ["ADSTREAM_EVENTS_TOPIC"]
RESULTS = os.environ["ADSTREAM_RESULTS_TOPIC"]
PARTITIONS = int(os.environ["ADSTREAM_PARTITIONS"])
WINDOW_S = int(os.environ["ADSTREAM_WINDOW_S"])
BASE_MS = int(os.environ["ADSTREAM_BASE_TIME_MS"])
LATENESS_MS = int(os.environ.get("ADSTREAM_LATENESS_MS", "0"))
RUN_DIR = os.environ["ADSTREAM_RUN_DIR"]
PROPERTIES = json.loads(os.environ.get("ADSTREAM_KAFKA_PROPERTIES", "{}"))
PRODUCER_PROPERTIES = json.loads(os.environ.get("ADSTREAM_KAFKA_PRODUCER_PROPERTIES", "{}"))
JARS = os.environ.get("ADSTREAM_SPARK_KAFKA_JARS", "")


class OffsetRange(InputPartition):
    """One Kafka partition's records from `start` (inclusive) to `end` (exclusive)."""

    def __init__(self, partition, start, end):
        self.partition, self.start, self.end = partition, start, end


class KafkaEvents(DataSource):
    """The events topic, one row per record: its partition, offset, `kind` header and value."""

    @classmethod
    def name(cls):
        return "adstream_kafka"

    def schema(self):
        return "partition int, offset long, kind string, value string"

    def streamReader(self, schema):
        return KafkaEventsReader(self.options)


def consumer_settings(options):
    settings = dict(json.loads(options["properties"]))
    settings.update({
        "bootstrap.servers": options["bootstrap"],
        # assign() only: no group is joined, no offsets are committed to the broker.
        "group.id": "adstream-spark",
        "enable.auto.commit": "false",
        "enable.partition.eof": "false",
    })
    return settings


# How far before a range's first offset a read starts. The local broker (tansu 0.6) answers a fetch
# from an offset inside a batch with the batch after it, so a read starts that many records earlier
# (more than a batch of our producers holds) and skips to its first offset; finding its first offset
# missing all the same is an error, never a silent loss.
REWIND = 5_000


class Follower:
    """A consumer of every partition on a thread of the driver's reader process, which knows each
    partition's next offset: the records it has seen exist.

    A partition's closing record (its last) is held back until every partition's is seen: in the batch
    that first holds one, its time moves the watermark past the last windows, and another partition
    must not still hold their events."""

    def __init__(self, options):
        self.options = options
        self.seen = {str(p): 0 for p in range(int(options["partitions"]))}
        self.closes = {}
        self.lock = threading.Lock()
        threading.Thread(target=self._follow, daemon=True).start()

    def _follow(self):
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(consumer_settings(self.options))
        consumer.assign([TopicPartition(self.options["topic"], int(p), 0) for p in self.seen])
        while True:
            for message in consumer.consume(num_messages=10_000, timeout=0.05):
                if message.error() is None:
                    with self.lock:
                        p = str(message.partition())
                        self.seen[p] = max(self.seen[p], message.offset() + 1)
                        if dict(message.headers() or []).get("kind") == b"close":
                            self.closes.setdefault(p, message.offset())

    def ends(self):
        with self.lock:
            ends = dict(self.seen)
            if len(self.closes) < len(ends):
                for p, offset in self.closes.items():
                    ends[p] = min(ends[p], offset)
            return ends


# The driver's follower, made at its first use: a reader is pickled to the executors, a thread not.
FOLLOWER = []


class KafkaEventsReader(DataSourceStreamReader):
    """Offsets are `{"<partition>": next offset}`; Spark keeps them in its checkpoint.

    The latest offsets are those of the records the driver's follower has seen, not the broker's high
    watermark, which on the local broker can stay below a partition's last batch."""

    def __init__(self, options):
        self.options = options
        self.partitions_n = int(options["partitions"])

    def initialOffset(self):
        return {str(p): 0 for p in range(self.partitions_n)}

    def latestOffset(self):
        if not FOLLOWER:
            FOLLOWER.append(Follower(self.options))
        return FOLLOWER[0].ends()

    def partitions(self, start, end):
        return [
            OffsetRange(int(p), start.get(p, 0), end[p])
            for p in sorted(end, key=int)
            if end[p] > start.get(p, 0)
        ]

    def read(self, partition):
        from confluent_kafka import Consumer, TopicPartition

        consumer = Consumer(consumer_settings(self.options))
        first = max(0, partition.start - REWIND)
        consumer.assign([TopicPartition(self.options["topic"], partition.partition, first)])
        try:
            offset = partition.start
            while offset < partition.end:
                for message in consumer.consume(num_messages=5000, timeout=1.0):
                    if offset >= partition.end:
                        break
                    if message.error() or message.offset() < offset:
                        continue
                    if message.offset() != offset:
                        raise RuntimeError(
                            f"partition {partition.partition}: offset {offset} was skipped "
                            f"(the next record read is at {message.offset()})"
                        )
                    offset = message.offset() + 1
                    kind = dict(message.headers() or []).get("kind")
                    yield (
                        partition.partition,
                        message.offset(),
                        kind.decode() if kind is not None else None,
                        message.value().decode(),
                    )
        finally:
            consumer.close()

    def commit(self, end):
        pass


def records(spark):
    """The events topic as rows of (kind, value)."""
    if JARS:
        return (
            spark.readStream.format("kafka")
            .option("kafka.bootstrap.servers", BOOTSTRAP)
            .option("subscribe", EVENTS)
            .option("startingOffsets", "earliest")
            .option("includeHeaders", "true")
            .load()
            .select(
                F.expr("filter(headers, h -> h.key = 'kind')[0].value").cast("string").alias("kind"),
                F.col("value").cast("string").alias("value"),
            )
        )
    spark.dataSource.register(KafkaEvents)
    return (
        spark.readStream.format("adstream_kafka")
        .option("bootstrap", BOOTSTRAP)
        .option("topic", EVENTS)
        .option("partitions", str(PARTITIONS))
        .option("properties", json.dumps(PROPERTIES))
        .load()
        .select("kind", "value")
    )


EVENT = "event_time_ns long, campaign_id int, event_type string, produce_time long"


def write_batch(batch, _batch_id):
    """Sends a micro-batch's closed windows to the results topic and waits for the broker."""
    rows = batch.filter(F.col("campaign_id").isNotNull()).collect()
    if not rows:
        return
    from confluent_kafka import Producer

    producer = Producer(dict(PRODUCER_PROPERTIES, **{"bootstrap.servers": BOOTSTRAP}))
    for row in rows:
        start_ms = int(row["window"]["start"].timestamp() * 1000)
        result = {
            "window_id": (start_ms - BASE_MS) // (WINDOW_S * 1000),
            "window_start": start_ms,
            "campaign_id": row["campaign_id"],
            "count": row["count"],
            "views": row["views"],
            "clicks": row["clicks"],
            "purchases": row["purchases"],
            "max_produce_time": row["max_produce_time"],
        }
        producer.produce(RESULTS, key=f"{result['window_id']}/{row['campaign_id']}", value=json.dumps(result))
    if producer.flush(30) != 0:
        raise RuntimeError("results not delivered within 30 s")


def main():
    # Spark's Python workers run this job's Python (its environment has pyarrow and confluent-kafka),
    # not whatever `python3` is first on PATH.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = (
        SparkSession.builder.appName("adstream-SparkJob")
        .master("local[2]")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
    )
    if JARS:
        builder = builder.config("spark.jars", JARS)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("WARN")
    timed = (
        records(spark)
        .filter(F.col("kind").isNull() | (F.col("kind") == "close"))
        .select(F.from_json("value", EVENT).alias("e"))
        .select("e.*")
        .withColumn("event_time", F.expr("timestamp_micros(event_time_ns div 1000)"))
        .withWatermark("event_time", f"{LATENESS_MS} milliseconds")
    )
    start_offset_ms = BASE_MS % (WINDOW_S * 1000)
    counted = timed.groupBy(
        F.window("event_time", f"{WINDOW_S} seconds", startTime=f"{start_offset_ms} milliseconds"),
        "campaign_id",
    ).agg(
        F.count("campaign_id").alias("count"),
        F.sum(F.when(F.col("event_type") == "view", 1).otherwise(0)).alias("views"),
        F.sum(F.when(F.col("event_type") == "click", 1).otherwise(0)).alias("clicks"),
        F.sum(F.when(F.col("event_type") == "purchase", 1).otherwise(0)).alias("purchases"),
        F.max("produce_time").alias("max_produce_time"),
    )
    query = (
        counted.writeStream.outputMode("append")
        .option("checkpointLocation", os.path.join(RUN_DIR, "spark-checkpoint"))
        .foreachBatch(write_batch)
        .start()
    )
    print("ready", flush=True)
    query.awaitTermination()


if __name__ == "__main__":
    sys.exit(main())
