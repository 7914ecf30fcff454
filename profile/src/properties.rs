//! Reading the `[kafka.*properties]` tables of a profile: librdkafka property names are dotted, and a
//! TOML table reads `security.protocol = "SSL"` as a nested table, so nested tables are flattened back
//! into dotted names; numbers and booleans are taken as their text, as librdkafka takes every value.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};

/// A property value as TOML may write it.
#[derive(Deserialize)]
#[serde(untagged)]
enum Value {
    Text(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
    Table(BTreeMap<String, Value>),
}

/// Deserialises a properties table into dotted names and text values.
pub(crate) fn flat<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let table = BTreeMap::<String, Value>::deserialize(deserializer)?;
    let mut flat = BTreeMap::new();
    for (key, value) in table {
        put(&mut flat, key, value);
    }
    Ok(flat)
}

fn put(flat: &mut BTreeMap<String, String>, key: String, value: Value) {
    let text = match value {
        Value::Text(s) => s,
        Value::Integer(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Table(inner) => {
            for (k, v) in inner {
                put(flat, format!("{key}.{k}"), v);
            }
            return;
        }
    };
    flat.insert(key, text);
}

/// Parses `KEY=VALUE` (the `--kafka-property` flag).
pub fn key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got {text:?}")),
    }
}

#[cfg(test)]
mod tests {
    use crate::profile::Profile;

    #[test]
    fn dotted_quoted_and_typed_properties_all_read_as_librdkafka_names_and_text() {
        let p = Profile::from_toml(
            r#"
            [kafka.properties]
            security.protocol = "SSL"
            "client.id" = "mine"
            ssl.endpoint.identification.algorithm = "none"
            [kafka.producer_properties]
            linger.ms = 20
            enable.idempotence = true
            "#,
            "test.toml",
        )
        .unwrap();
        let k = &p.kafka;
        assert_eq!(k.properties["security.protocol"], "SSL");
        assert_eq!(k.properties["client.id"], "mine");
        assert_eq!(
            k.properties["ssl.endpoint.identification.algorithm"],
            "none"
        );
        assert_eq!(k.producer_properties["linger.ms"], "20");
        assert_eq!(k.producer_properties["enable.idempotence"], "true");
        assert!(k.consumer_properties.is_empty());
        // And back: the effective profile a run writes reads the same.
        let again = Profile::from_toml(&toml::to_string(&p).unwrap(), "again.toml").unwrap();
        assert_eq!(again, p);
    }

    #[test]
    fn a_property_flag_is_key_equals_value() {
        assert_eq!(
            super::key_value("client.id=a=b"),
            Ok(("client.id".into(), "a=b".into()))
        );
        assert!(super::key_value("client.id").is_err());
        assert!(super::key_value("=x").is_err());
    }
}
