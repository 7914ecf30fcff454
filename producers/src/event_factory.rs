//! Event contents: everything but `produce_time` is drawn from the producer's seeded random stream, so
//! the same seed and producer id give the same events.

use std::net::Ipv4Addr;

use adstream_protocol::AdCatalog;
use adstream_protocol::window::Windows;
use adstream_protocol::wire::{AdType, Event, EventType};
use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// Makes the events of one producer.
#[derive(Debug, Clone)]
pub struct EventFactory {
    catalog: AdCatalog,
    windows: Windows,
    rng: ChaCha8Rng,
}

impl EventFactory {
    /// Events over `catalog`'s ads, windowed by `windows`, drawn from `rng`.
    pub fn new(catalog: AdCatalog, windows: Windows, rng: ChaCha8Rng) -> Self {
        Self {
            catalog,
            windows,
            rng,
        }
    }

    fn uuid(&mut self) -> Uuid {
        let mut bytes = [0u8; 16];
        self.rng.fill_bytes(&mut bytes);
        uuid::Builder::from_random_bytes(bytes).into_uuid()
    }

    /// The next event, happening at `event_time_ns` (not before the base); `produce_time` is left 0 for
    /// the sender to stamp.
    pub fn make(&mut self, event_time_ns: u64) -> Event {
        let ads = self.catalog.ads();
        let ad = ads[self.rng.random_range(0..ads.len())];
        Event {
            user_id: self.uuid(),
            page_id: self.uuid(),
            ad_id: ad.id,
            ad_type: AdType::ALL[self.rng.random_range(0..AdType::ALL.len())],
            event_type: EventType::ALL[self.rng.random_range(0..EventType::ALL.len())],
            event_time_ns,
            window_id: self
                .windows
                .window_of(event_time_ns)
                .expect("events happen at or after the base time"),
            ip_address: Ipv4Addr::from(self.rng.next_u32()),
            campaign_id: ad.campaign_id,
            produce_time: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn factory(seed: u64) -> EventFactory {
        EventFactory::new(
            AdCatalog::from_seed(1),
            Windows::new(1_000_000_000_000, 10_000_000_000),
            ChaCha8Rng::seed_from_u64(seed),
        )
    }

    #[test]
    fn events_use_the_catalogue_and_the_shared_windows() {
        let catalog = AdCatalog::from_seed(1);
        let mut f = factory(5);
        for i in 0..1_000u64 {
            let t = 1_000_000_000_000 + i * 37_000_000;
            let e = f.make(t);
            assert_eq!(e.window_id, i * 37 / 10_000);
            let ad = catalog
                .ads()
                .iter()
                .find(|ad| ad.id == e.ad_id)
                .expect("ad from the catalogue");
            assert_eq!(ad.campaign_id, e.campaign_id);
            assert_eq!(e.user_id.get_version_num(), 4);
        }
    }

    #[test]
    fn the_seed_decides_the_contents() {
        let (mut a, mut b, mut c) = (factory(5), factory(5), factory(6));
        let t = 1_000_000_000_000;
        assert_eq!(a.make(t), b.make(t));
        assert_ne!(a.make(t), c.make(t));
    }
}
