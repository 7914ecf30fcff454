//! Whether the run's broker answers: a thread asks it for metadata twice a second and notes when it
//! last answered. A broker that has not answered for the liveness limit is gone, hung or cut off —
//! the harness's own broker is then killed and restarted (when its data survives that), and someone
//! else's ends the run at once with one line, instead of after the clients' minute-long timeouts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use adstream_kafka::KafkaError;
use adstream_kafka::settings::admin_config;
use adstream_profile::client::Connection;
use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;

/// How long one metadata request may take, and the pause between two.
const ASK_EVERY: Duration = Duration::from_millis(500);

/// Why the watch could not start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    /// Its client could not be made.
    #[error(transparent)]
    Kafka(#[from] KafkaError),
    /// Its thread could not be started.
    #[error("cannot start the broker watch's thread: {0}")]
    Thread(std::io::Error),
}

/// The watcher; stopped when dropped.
pub struct BrokerWatch {
    last_answer: Arc<Mutex<Instant>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl BrokerWatch {
    /// Starts watching the broker `connection` reaches.
    pub fn start(connection: &Connection) -> Result<Self, WatchError> {
        let admin: AdminClient<DefaultClientContext> = admin_config(connection)
            .create()
            .map_err(KafkaError::client("create the broker watch's client"))?;
        let last_answer = Arc::new(Mutex::new(Instant::now()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (last_answer, stop) = (Arc::clone(&last_answer), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("broker-watch".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        let asked = Instant::now();
                        if admin.inner().fetch_metadata(None, ASK_EVERY).is_ok() {
                            *last_answer.lock().unwrap_or_else(PoisonError::into_inner) =
                                Instant::now();
                        }
                        // The pause between two requests, not a wait for an event.
                        std::thread::sleep(ASK_EVERY.saturating_sub(asked.elapsed()));
                    }
                })
                .map_err(WatchError::Thread)?
        };
        Ok(Self {
            last_answer,
            stop,
            thread: Some(thread),
        })
    }

    /// How long the broker has not answered.
    pub fn silent_for(&self) -> Duration {
        self.last_answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .elapsed()
    }

    /// Counts the broker as heard from now (it was just restarted and answered).
    pub fn heard_now(&self) {
        *self
            .last_answer
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }
}

impl Drop for BrokerWatch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
