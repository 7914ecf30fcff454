//! The ad catalogue: 1000 UUIDv4 ad ids, 100 per campaign, derived from the run's seed so that every
//! producer of a run agrees on it without exchanging it.

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

/// Number of campaigns (the seed's fixed 10).
pub const CAMPAIGNS: u32 = 10;
/// Ads per campaign (the seed's fixed 100).
pub const ADS_PER_CAMPAIGN: u32 = 100;

/// Distinguishes the catalogue's random stream from the event streams drawn from the same seed.
const CATALOG_STREAM: u64 = 0xad5_ca7a_1096;

/// One ad and the campaign it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ad {
    /// The ad's UUIDv4.
    pub id: Uuid,
    /// Its campaign, 1..=[`CAMPAIGNS`].
    pub campaign_id: u32,
}

/// The run's ads: ad `i` belongs to campaign `i / 100 + 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdCatalog {
    ads: Vec<Ad>,
}

impl AdCatalog {
    /// The catalogue of the run with this seed.
    pub fn from_seed(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(CATALOG_STREAM);
        let ads = (0..CAMPAIGNS * ADS_PER_CAMPAIGN)
            .map(|i| {
                let mut bytes = [0u8; 16];
                rng.fill_bytes(&mut bytes);
                Ad {
                    id: uuid::Builder::from_random_bytes(bytes).into_uuid(),
                    campaign_id: i / ADS_PER_CAMPAIGN + 1,
                }
            })
            .collect();
        Self { ads }
    }

    /// All ads, 100 per campaign in campaign order.
    pub fn ads(&self) -> &[Ad] {
        &self.ads
    }

    /// Whether `campaign_id` names one of the catalogue's campaigns.
    pub fn is_campaign(campaign_id: u32) -> bool {
        (1..=CAMPAIGNS).contains(&campaign_id)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_thousand_distinct_v4_ads_a_hundred_per_campaign() {
        let catalog = AdCatalog::from_seed(7);
        assert_eq!(catalog.ads().len(), 1000);
        let ids: HashSet<Uuid> = catalog.ads().iter().map(|ad| ad.id).collect();
        assert_eq!(ids.len(), 1000);
        assert!(catalog.ads().iter().all(|ad| ad.id.get_version_num() == 4));
        for campaign in 1..=CAMPAIGNS {
            let n = catalog
                .ads()
                .iter()
                .filter(|ad| ad.campaign_id == campaign)
                .count();
            assert_eq!(n, 100, "campaign {campaign}");
        }
    }

    #[test]
    fn the_seed_decides_the_catalogue() {
        assert_eq!(AdCatalog::from_seed(1), AdCatalog::from_seed(1));
        assert_ne!(AdCatalog::from_seed(1), AdCatalog::from_seed(2));
    }
}
