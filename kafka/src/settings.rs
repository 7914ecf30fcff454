//! Every Kafka client setting adstream uses, each with the reason for its value. Chosen by
//! measurement on the local broker (ARCHITECTURE.md, "The broker", BENCHMARKS.md); they work
//! unchanged on any Kafka 2.x+ cluster. The user's own properties ([`crate::properties`]) are
//! applied over them, every client's first, then its role's: a cluster's TLS, SASL or `client.id`
//! reach every client of every binary.

use std::collections::BTreeMap;
use std::time::Duration;

use rdkafka::ClientConfig;

use adstream_profile::client::Connection;

/// How long a binary waits for the broker's first answer before it gives up with a clear error: long
/// enough for a broker that is starting, short enough that a wrong address is told at once.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Which kind of client a configuration is for: which of the user's tables apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Producer,
    Consumer,
    Admin,
}

/// `config` with the user's properties for `role` set over it.
fn with_users(mut config: ClientConfig, c: &Connection, role: Role) -> ClientConfig {
    let own: &BTreeMap<String, String> = match role {
        Role::Producer => &c.properties.producer,
        Role::Consumer => &c.properties.consumer,
        Role::Admin => &BTreeMap::new(),
    };
    for (key, value) in c.properties.all.iter().chain(own) {
        config.set(key, value);
    }
    config
}

/// How long an events producer sends to one partition before moving to the next, ms (its turn):
/// each turn fills one batch. The local broker's cost per fetch grows with the number of batches a
/// partition holds (tansu 0.6 lists them all on every fetch), so fewer, larger batches keep its
/// delivery fast over a run (ARCHITECTURE.md, "The broker"). A window's closing records do not wait
/// for a turn: a turn ends where a window ends, and the batch leaves then (see
/// [`PRODUCER_LINGER_MS`]). Measured at the seed's load (BENCHMARKS.md "Long runs"): 20 ms keeps a
/// 180 s run's latency flat where 10 ms let it grow.
pub const PRODUCER_TURN_MS: u64 = 20;

/// How long an events producer that takes turns (more than one partition) lets a batch fill before
/// sending it, ms: a turn and a margin. The batch opens with the turn's first event and must still
/// take its last ones, and the watermark that follows them, when a paced producer sends those up to
/// a pacing tick (2 ms by default) late; a batch that left without them would make them wait a
/// whole linger in the next one, and with them the window's close.
pub const PRODUCER_LINGER_MS: u64 = PRODUCER_TURN_MS + 3;

/// The linger of an events producer writing a single partition, ms. It never changes partition, so
/// its batches cannot line up with window ends and a window's closing records wait for the linger:
/// a shorter one than with turns (measured: one partition's end-to-end p90 12 ms at 10 ms, 24 ms at
/// 23).
pub const SINGLE_PARTITION_LINGER_MS: u64 = 10;

/// The linger of an events producer writing `partitions` partitions, ms.
pub fn producer_linger_ms(partitions: u32) -> u64 {
    if partitions > 1 {
        PRODUCER_LINGER_MS
    } else {
        SINGLE_PARTITION_LINGER_MS
    }
}

/// The largest batch an events producer makes, bytes, where its topic allows it: a turn's events of
/// the fastest producer in one batch. Each producer's turn fills one batch only while the turn's
/// events fit; with 1 MB batches (librdkafka's default) a turn of 160,000 events/s per producer
/// (~3,200 events of ~320 bytes) split into a full batch and a small one, doubling the batches the
/// local broker lists on each fetch: measured, 4 partitions at 320,000 events/s had end-to-end p90
/// 98–560 ms with 1 MB batches and 21–22 ms with 8 MB (BENCHMARKS.md "Capacity and its parts").
pub const EVENTS_BATCH_BYTES: u32 = 8_000_000;

/// The batch limit an events producer uses when its topic does not say what it accepts: Kafka's
/// default `max.message.bytes` (1,048,588) rounded down, librdkafka's own default.
pub const DEFAULT_BATCH_BYTES: u32 = 1_000_000;

/// The `max.message.bytes` of the events topics the harness creates: room for an
/// [`EVENTS_BATCH_BYTES`] batch and its framing.
pub const EVENTS_TOPIC_MAX_MESSAGE_BYTES: u32 = 8_388_608;

/// What an events producer's settings depend on: the topic it writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventsTopic {
    /// Its partition count (see [`producer_linger_ms`]).
    pub partitions: u32,
    /// The largest record batch it accepts (its `max.message.bytes`), when the broker says.
    pub max_message_bytes: Option<u32>,
}

impl EventsTopic {
    /// The largest batch to make for this topic, bytes: [`EVENTS_BATCH_BYTES`] where the topic takes
    /// it, never more than it takes, and [`DEFAULT_BATCH_BYTES`] when it does not say (a batch the
    /// broker refuses fails every record in it).
    pub fn batch_bytes(&self) -> u32 {
        self.max_message_bytes
            .map_or(DEFAULT_BATCH_BYTES, |max| max.min(EVENTS_BATCH_BYTES))
    }
}

/// Longest fetch wait of a patient consumer, ms (see [`patient_consumer_config`]).
const PATIENT_FETCH_WAIT_MS: &str = "100";

/// What every client shares.
fn base(c: &Connection) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &c.bootstrap)
        // Small requests go out at once instead of waiting for an ACK to coalesce them: latency
        // first.
        .set("socket.nagle.disable", "true")
        // Fail fast and quietly when the broker is absent; the reachability check reports it.
        .set("reconnect.backoff.max.ms", "1000")
        // Topics do not change shape during a run; fewer metadata requests spare the broker.
        .set("topic.metadata.refresh.interval.ms", "60000");
    config
}

/// Settings of an events producer.
pub fn producer_config(c: &Connection) -> ClientConfig {
    with_users(tuned_producer(c), c, Role::Producer)
}

/// Settings of an events producer writing `topic` (see [`producer_linger_ms`] and
/// [`EventsTopic::batch_bytes`]).
pub fn events_producer_config(c: &Connection, topic: &EventsTopic) -> ClientConfig {
    let mut config = tuned_producer(c);
    let batch_bytes = topic.batch_bytes().to_string();
    config
        .set(
            "linger.ms",
            producer_linger_ms(topic.partitions).to_string(),
        )
        // A batch is also limited by the request size: both at the topic's batch limit.
        .set("batch.size", &batch_bytes)
        .set("message.max.bytes", &batch_bytes);
    with_users(config, c, Role::Producer)
}

fn tuned_producer(c: &Connection) -> ClientConfig {
    let mut config = base(c);
    config
        // Retries neither lose nor duplicate nor reorder: the exactness of every run rests on it.
        .set("enable.idempotence", "true")
        // Idempotence requires acks from all in-sync replicas.
        .set("acks", "all")
        // See PRODUCER_LINGER_MS.
        .set("linger.ms", PRODUCER_LINGER_MS.to_string())
        // Room for a whole linger of the fastest producer (~750k events/s unpaced, 23 ms: ~17,000
        // events) in one batch, so the batch is closed by the linger or its size in bytes, not by a
        // count. Events producers raise the size where their topic allows (EVENTS_BATCH_BYTES).
        .set("batch.num.messages", "25000")
        .set("batch.size", DEFAULT_BATCH_BYTES.to_string())
        // A local queue deep enough that a paced producer never waits on it; an unpaced one waits for
        // room (delivery::send_with_backpressure) instead of failing.
        .set("queue.buffering.max.messages", "1000000")
        .set("queue.buffering.max.kbytes", "1048576")
        // A minute of retries before a record counts as failed: longer than any broker hiccup seen.
        .set("message.timeout.ms", "60000");
    config
}

/// Settings of the job's results producer: an events producer that sends each result at once. A
/// window yields a handful of records, all due the moment it closes; lingering would only add
/// latency.
pub fn results_producer_config(c: &Connection) -> ClientConfig {
    let mut config = tuned_producer(c);
    config.set("linger.ms", "0");
    with_users(config, c, Role::Producer)
}

/// Settings of the job's dead-letter producer: rejected records are rare and nobody waits for them,
/// so a short linger batches a burst of bad input without delaying anything that matters.
pub fn dead_letter_producer_config(c: &Connection) -> ClientConfig {
    let mut config = tuned_producer(c);
    config.set("linger.ms", "5");
    with_users(config, c, Role::Producer)
}

/// Settings of a consumer that reads explicitly assigned partitions with the lowest fetch latency:
/// the job's reader, and every reader whose receive time is measured.
pub fn consumer_config(c: &Connection) -> ClientConfig {
    with_users(tuned_consumer(c), c, Role::Consumer)
}

fn tuned_consumer(c: &Connection) -> ClientConfig {
    let mut config = base(c);
    config
        // librdkafka wants a group id even for assign(); no group is ever joined (the local broker
        // takes ~23 s for a join), and nothing is committed to it.
        .set("group.id", "adstream")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // Assigned partitions without a stored offset start at their beginning.
        .set("auto.offset.reset", "earliest")
        // Return a fetch as soon as anything is there: latency first.
        .set("fetch.wait.max.ms", "1")
        .set("fetch.min.bytes", "1")
        // When the application is behind, librdkafka stops fetching once a partition's local queue
        // holds `queued.min.messages` and waits this long before fetching again. Its default, 1000
        // ms, leaves a catching-up job idle most of each second (measured: 250k events/s instead of
        // 1M+).
        .set("fetch.queue.backoff.ms", "1")
        // Readers decide for themselves when a partition is complete (end markers), not by EOF
        // events.
        .set("enable.partition.eof", "false");
    config
}

/// Settings of a consumer whose timing does not matter (the results collector, verification): it
/// waits up to 100 ms per fetch, because every fetch costs the local broker CPU it then lacks for
/// the job's.
pub fn patient_consumer_config(c: &Connection) -> ClientConfig {
    let mut config = tuned_consumer(c);
    config.set("fetch.wait.max.ms", PATIENT_FETCH_WAIT_MS);
    with_users(config, c, Role::Consumer)
}

/// Settings of an admin client (topic creation and deletion, metadata).
pub fn admin_config(c: &Connection) -> ClientConfig {
    with_users(base(c), c, Role::Admin)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_users_properties_go_over_ours_every_clients_first_then_the_roles() {
        let mut c = Connection::plain("h:1");
        c.properties
            .all
            .insert("client.id".into(), "everyone".into());
        c.properties.all.insert("linger.ms".into(), "50".into());
        c.properties
            .producer
            .insert("client.id".into(), "producers".into());
        c.properties
            .consumer
            .insert("fetch.wait.max.ms".into(), "7".into());
        let producer = producer_config(&c);
        assert_eq!(producer.get("client.id"), Some("producers"));
        assert_eq!(producer.get("linger.ms"), Some("50"));
        assert_eq!(
            producer.get("enable.idempotence"),
            Some("true"),
            "ours where not given"
        );
        assert_eq!(producer.get("fetch.wait.max.ms"), None);
        assert_eq!(results_producer_config(&c).get("linger.ms"), Some("50"));
        let consumer = patient_consumer_config(&c);
        assert_eq!(consumer.get("client.id"), Some("everyone"));
        assert_eq!(consumer.get("fetch.wait.max.ms"), Some("7"));
        let admin = admin_config(&c);
        assert_eq!(admin.get("client.id"), Some("everyone"));
        assert_eq!(admin.get("bootstrap.servers"), Some("h:1"));
        assert_eq!(
            admin_config(&Connection::plain("h:1")).get("client.id"),
            None
        );
    }

    #[test]
    fn an_events_producer_batches_up_to_what_its_topic_takes() {
        let c = Connection::plain("h:1");
        let batch = |max_message_bytes| {
            let topic = EventsTopic {
                partitions: 4,
                max_message_bytes,
            };
            let config = events_producer_config(&c, &topic);
            assert_eq!(config.get("batch.size"), config.get("message.max.bytes"));
            config.get("batch.size").map(str::to_owned)
        };
        assert_eq!(batch(Some(8_388_608)), Some("8000000".to_owned()));
        assert_eq!(batch(Some(1_048_588)), Some("1048588".to_owned()));
        assert_eq!(
            batch(None),
            Some("1000000".to_owned()),
            "unknown: Kafka's default"
        );
        let one = EventsTopic {
            partitions: 1,
            max_message_bytes: None,
        };
        assert_eq!(
            events_producer_config(&c, &one).get("linger.ms"),
            Some(SINGLE_PARTITION_LINGER_MS.to_string().as_str())
        );
        let mut mine = c.clone();
        mine.properties
            .producer
            .insert("batch.size".into(), "65536".into());
        let topic = EventsTopic {
            partitions: 4,
            max_message_bytes: Some(8_388_608),
        };
        assert_eq!(
            events_producer_config(&mine, &topic).get("batch.size"),
            Some("65536"),
            "the user's own setting wins"
        );
    }
}
