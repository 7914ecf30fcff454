//! What every Kafka client is made from — the broker's address and the user's own librdkafka
//! properties — and which properties are refused. The user's properties: what a cluster needs of
//! its clients — TLS, SASL, a `client.id`, compression — given for every client, for producers only
//! or for consumers only, and applied over adstream's tuned settings ([`crate::settings`]). A
//! property that would break a guarantee the results rest on is refused, with the reason; this
//! module is the one place that says which.

use std::collections::BTreeMap;

/// What every client is made from: where the broker is, and the user's properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    /// The bootstrap servers, `HOST:PORT[,HOST:PORT…]`.
    pub bootstrap: String,
    /// The user's properties (checked: see [`ClientProperties::check`]).
    pub properties: ClientProperties,
}

impl Connection {
    /// A connection to `bootstrap` with no properties of the user's.
    pub fn plain(bootstrap: &str) -> Self {
        Self {
            bootstrap: bootstrap.to_owned(),
            properties: ClientProperties::default(),
        }
    }
}

/// librdkafka properties given by the user, by the clients they are for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientProperties {
    /// For every client (`[kafka.properties]`, `--kafka-property`).
    pub all: BTreeMap<String, String>,
    /// For producers only (`[kafka.producer_properties]`).
    pub producer: BTreeMap<String, String>,
    /// For consumers only (`[kafka.consumer_properties]`).
    pub consumer: BTreeMap<String, String>,
}

/// Which table of [`ClientProperties`] a property is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// Every client's.
    All,
    /// Producers'.
    Producer,
    /// Consumers'.
    Consumer,
}

/// A property that would break a guarantee.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{key} = {value}` is refused: {reason}")]
pub struct Refused {
    /// The table it was given in.
    pub table: Table,
    /// The property.
    pub key: String,
    /// Its value.
    pub value: String,
    /// What it would break.
    pub reason: &'static str,
}

impl ClientProperties {
    /// Fails on the first property that would break a guarantee.
    pub fn check(&self) -> Result<(), Refused> {
        let tables = [
            (Table::All, &self.all),
            (Table::Producer, &self.producer),
            (Table::Consumer, &self.consumer),
        ];
        for (table, properties) in tables {
            for (key, value) in properties {
                if let Some(reason) = refusal(table, key, value) {
                    return Err(Refused {
                        table,
                        key: key.clone(),
                        value: value.clone(),
                        reason,
                    });
                }
            }
        }
        Ok(())
    }
}

/// Whether the value of property `key` is a secret (a password, a private key, a token), which a
/// report must not show.
pub fn is_secret(key: &str) -> bool {
    [
        "password",
        "secret",
        "ssl.key.pem",
        "oauthbearer.config",
        "sasl.oauthbearer.client",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// Why `key = value` may not be set in `table`, if it may not.
fn refusal(table: Table, key: &str, value: &str) -> Option<&'static str> {
    let for_producers = table != Table::Consumer;
    let for_consumers = table != Table::Producer;
    let v = value.trim().to_ascii_lowercase();
    match key {
        "bootstrap.servers" | "metadata.broker.list" => {
            Some("the broker address is `kafka.bootstrap` (--bootstrap), in one place")
        }
        "enable.idempotence" if for_producers && !matches!(v.as_str(), "true" | "1") => Some(
            "idempotence keeps a retried batch from being written twice or out of order; every \
             count and the exactness check rest on it",
        ),
        "acks" | "request.required.acks"
            if for_producers && !matches!(v.as_str(), "all" | "-1") =>
        {
            Some(
                "an idempotent producer needs acknowledgement from all in-sync replicas; fewer can lose acknowledged events",
            )
        }
        "max.in.flight.requests.per.connection" | "max.in.flight"
            if for_producers && v.parse::<u32>().is_ok_and(|n| n > 5) =>
        {
            Some(
                "more than 5 requests in flight can reorder retried batches, even with idempotence",
            )
        }
        "transactional.id" if for_producers => Some(
            "results are written exactly once by read-back on restart, not by transactions \
             (ARCHITECTURE.md, \"Fault tolerance\"); a transactional producer's records stay \
             invisible until a commit adstream never makes",
        ),
        "auto.offset.reset"
            if for_consumers && !matches!(v.as_str(), "earliest" | "smallest" | "beginning") =>
        {
            Some(
                "every partition is read from its start, in offset order; another reset skips records",
            )
        }
        "enable.partition.eof" if for_consumers && matches!(v.as_str(), "true" | "1") => Some(
            "readers decide for themselves when a partition is complete; end-of-partition events \
             would reach them as errors",
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(table: Table, key: &str, value: &str) -> ClientProperties {
        let mut p = ClientProperties::default();
        let map = match table {
            Table::All => &mut p.all,
            Table::Producer => &mut p.producer,
            Table::Consumer => &mut p.consumer,
        };
        map.insert(key.to_owned(), value.to_owned());
        p
    }

    #[test]
    fn passwords_and_keys_are_secrets() {
        for key in [
            "sasl.password",
            "ssl.key.password",
            "ssl.key.pem",
            "sasl.oauthbearer.client.secret",
        ] {
            assert!(is_secret(key), "{key}");
        }
        for key in ["sasl.username", "ssl.ca.location", "security.protocol"] {
            assert!(!is_secret(key), "{key}");
        }
    }

    #[test]
    fn properties_that_keep_the_guarantees_are_accepted() {
        for (table, key, value) in [
            (Table::All, "security.protocol", "SSL"),
            (Table::All, "client.id", "adstream-test"),
            (Table::Producer, "compression.type", "lz4"),
            (Table::Producer, "enable.idempotence", "true"),
            (Table::All, "acks", "all"),
            (
                Table::Producer,
                "max.in.flight.requests.per.connection",
                "5",
            ),
            (Table::Consumer, "auto.offset.reset", "earliest"),
            // Producer rules do not apply to consumers' properties and the other way round.
            (Table::Consumer, "acks", "1"),
            (Table::Producer, "auto.offset.reset", "latest"),
        ] {
            assert_eq!(with(table, key, value).check(), Ok(()), "{key} = {value}");
        }
    }

    #[test]
    fn properties_that_break_a_guarantee_are_refused_with_the_reason() {
        for (table, key, value, why) in [
            (
                Table::All,
                "enable.idempotence",
                "false",
                "twice or out of order",
            ),
            (Table::Producer, "acks", "1", "lose acknowledged events"),
            (
                Table::All,
                "max.in.flight.requests.per.connection",
                "10",
                "reorder",
            ),
            (Table::Producer, "transactional.id", "t", "read-back"),
            (
                Table::Consumer,
                "auto.offset.reset",
                "latest",
                "skips records",
            ),
            (Table::All, "enable.partition.eof", "true", "complete"),
            (
                Table::All,
                "bootstrap.servers",
                "elsewhere:9092",
                "--bootstrap",
            ),
        ] {
            let refused = with(table, key, value).check().unwrap_err();
            assert_eq!((refused.key.as_str(), refused.table), (key, table));
            let text = refused.to_string();
            assert!(
                text.starts_with(&format!("`{key} = {value}` is refused: ")),
                "{text}"
            );
            assert!(text.contains(why), "{text}");
        }
    }
}
