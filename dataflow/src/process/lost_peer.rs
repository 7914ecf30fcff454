//! A peer process whose connection closes — it died, or was killed — makes timely's network threads
//! panic ("timely communication error: …"), and every worker after them, each with a trace. A job
//! process instead ends at once with one line naming the peer, as it does for a silent one: the hook
//! installed here tells the harness (a `peer_silent` message, so the fault is put on the peer), prints
//! the line and exits with code 1. Exiting from the hook is the one exit outside `main`: the panic is
//! in timely's threads, which the process cannot stop otherwise, and nothing of the job can go on
//! without the peer. Any other panic keeps Rust's own report.

use std::panic::PanicHookInfo;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use adstream_protocol::messages::{ChildMessage, PeerSilence};
use adstream_protocol::outbox::Outbox;

/// How timely's network threads start their panic messages.
const TIMELY_COMMUNICATION: &str = "timely communication error";

/// The peer a timely network thread talks to, from its name (`timely:recv-1`, `timely:send-1`).
fn peer_of_thread(name: &str) -> Option<u32> {
    let rest = name
        .strip_prefix("timely:recv-")
        .or_else(|| name.strip_prefix("timely:send-"))?;
    rest.parse().ok()
}

fn message_of(info: &PanicHookInfo<'_>) -> String {
    let payload = info.payload();
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_default()
}

/// From now on, a lost connection to a peer ends process `process` with one line naming the peer
/// by its hostfile `addresses`, after telling the harness through `outbox`.
pub fn end_when_a_peer_is_lost(process: u32, addresses: Vec<String>, outbox: Arc<Outbox>) {
    let report = std::panic::take_hook();
    static ENDING: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(move |info| {
        if ENDING.load(Ordering::SeqCst) {
            // Another thread fell with the lost connection while this process ends: nothing to add.
            return;
        }
        let message = message_of(info);
        let thread = std::thread::current();
        let peer = thread.name().and_then(peer_of_thread);
        let (Some(peer), true) = (peer, message.starts_with(TIMELY_COMMUNICATION)) else {
            report(info);
            return;
        };
        ENDING.store(true, Ordering::SeqCst);
        let _ = outbox.send(&ChildMessage::PeerSilent(PeerSilence {
            process,
            peer,
            silent_ms: 0,
        }));
        let address = addresses.get(peer as usize).cloned().unwrap_or_default();
        eprintln!(
            "error: job process {peer} is gone: the connection to it closed ({message}) (it runs \
             at {address})"
        );
        std::process::exit(1);
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_network_thread_names_its_peer() {
        assert_eq!(peer_of_thread("timely:recv-1"), Some(1));
        assert_eq!(peer_of_thread("timely:send-12"), Some(12));
        assert_eq!(peer_of_thread("timely:work-0"), None);
        assert_eq!(peer_of_thread("main"), None);
    }
}
