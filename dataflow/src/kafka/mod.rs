//! The job's edges over Kafka: the [`reader`] of a worker's partitions, the [`writers`] of results and
//! dead letters, the [`readback`] of what an earlier incarnation already wrote, the
//! [`checkpoint_topic`] store, the [`fence_topic`] where incarnations claim the job, the [`end_offsets`] probe behind the consumer-lag metric, and the
//! [`topics`] the job creates. The client settings themselves, and why each has its value, are in
//! `adstream_kafka::settings`.

pub mod checkpoint_topic;
pub mod end_offsets;
pub mod fence_topic;
pub mod readback;
pub mod reader;
pub mod topics;
pub mod writers;
