//! A producer's metrics (ARCHITECTURE.md, "Metrics"), served at `metrics.producers`
//! (`--metrics-listen`, producer `i` at port + `i`): events sent, delivered and failed, and how far
//! sends fell behind the schedule.

use std::sync::Arc;

use adstream_kafka::delivery::DeliveryCounter;
use adstream_metrics::families::Families;
use adstream_metrics::prometheus_client::collector::Collector;
use adstream_metrics::prometheus_client::encoding::DescriptorEncoder;
use adstream_metrics::prometheus_client::metrics::counter::Counter;
use adstream_metrics::prometheus_client::metrics::gauge::Gauge;
use adstream_metrics::prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use adstream_metrics::prometheus_client::registry::Registry;

/// What a producer counts as it sends; cheap to update (atomics, and one histogram observation per
/// paced event).
#[derive(Debug, Clone)]
pub struct ProducerMetrics {
    sent: Counter,
    schedule_lag: Histogram,
}

/// The broker's delivery reports, read at scrape time.
#[derive(Debug)]
struct Deliveries(Arc<DeliveryCounter>);

impl Collector for Deliveries {
    fn encode(&self, encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let mut f = Families::new(encoder);
        f.counter(
            "adstream_producer_events_acknowledged",
            "Events the broker confirmed",
            [(vec![], self.0.delivered())],
        )?;
        f.counter(
            "adstream_producer_events_failed",
            "Events whose delivery failed",
            [(vec![], self.0.failed())],
        )?;
        f.counter(
            "adstream_producer_control_records_failed",
            "Watermark and end records whose delivery failed",
            [(vec![], self.0.uncounted_failed())],
        )
    }
}

impl ProducerMetrics {
    /// The metrics of producer `id`, registered in `registry`, with the delivery reports of
    /// `deliveries` (none for a dry run).
    pub fn register(
        registry: &mut Registry,
        id: u32,
        deliveries: Option<Arc<DeliveryCounter>>,
    ) -> Self {
        let metrics = Self {
            sent: Counter::default(),
            // 10 µs doubling to about 5 s.
            schedule_lag: Histogram::new(exponential_buckets(0.000_01, 2.0, 20)),
        };
        let producer: Gauge = Gauge::default();
        producer.set(i64::from(id));
        registry.register("adstream_producer_id", "This producer's id", producer);
        registry.register(
            "adstream_producer_events_sent",
            "Events handed to the Kafka client",
            metrics.sent.clone(),
        );
        registry.register(
            "adstream_producer_schedule_lag_seconds",
            "How far each paced send fell behind its scheduled time, seconds",
            metrics.schedule_lag.clone(),
        );
        if let Some(deliveries) = deliveries {
            registry.register_collector(Box::new(Deliveries(deliveries)));
        }
        metrics
    }

    /// One event was sent.
    pub fn sent(&self) {
        self.sent.inc();
    }

    /// A paced send happened `lag_ns` after its scheduled time.
    pub fn behind(&self, lag_ns: u64) {
        self.schedule_lag.observe(lag_ns as f64 / 1e9);
    }
}
