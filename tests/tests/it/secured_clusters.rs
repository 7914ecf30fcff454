//! Secured clusters (ARCHITECTURE.md, "Client settings and secured clusters"): a whole run over TLS
//! — the harness's clients, the job's and the producers' — verified against a certificate authority
//! the test makes, with Debian's `stunnel` as the TLS terminator the local broker advertises (tansu
//! 0.6 has no TLS listener of its own); a whole run with SASL/SCRAM credentials, against tansu with
//! SQLite storage (the storage that keeps SCRAM users); and a client that does not trust the
//! broker's certificate, a wrong password, and a SASL client a broker rejects, each failing with
//! one clear line and a non-zero exit within seconds, never a hang.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use adstream_harness::services::broker::{LocalBroker, Setup, Storage, free_port};
use adstream_profile::client::Connection;
use adstream_profile::profile::KafkaSection;
use adstream_tests::tls::{Certificates, Stunnel};
use adstream_tests::{TestBroker, bin};

/// How long a refused client may take to say so (the acceptance bound: a failure, not a hang).
const FAILS_WITHIN: Duration = Duration::from_secs(10);

/// A broker behind TLS: the terminator, the broker, and the directory of the certificates.
struct TlsBroker {
    t: TestBroker,
    dir: std::path::PathBuf,
    _stunnel: Stunnel,
}

impl TlsBroker {
    fn start(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("adstream-{name}-{}", std::process::id()));
        let certs = Certificates::make(&dir, "adstream-test-ca");
        let listen = format!("127.0.0.1:{}", free_port().unwrap());
        let front = format!("127.0.0.1:{}", free_port().unwrap());
        let stunnel = Stunnel::start(&front, &listen, &certs, &dir);
        let broker = LocalBroker::start_advertising(&listen, &front).unwrap();
        let mut kafka = KafkaSection {
            bootstrap: front,
            partitions: 2,
            ..KafkaSection::default()
        };
        kafka.properties = tls_properties(&certs.ca);
        let t = TestBroker::create_topics(broker, kafka);
        Self {
            t,
            dir,
            _stunnel: stunnel,
        }
    }
}

impl Drop for TlsBroker {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tls_properties(ca: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    [
        ("security.protocol".to_owned(), "SSL".to_owned()),
        ("ssl.ca.location".to_owned(), ca.display().to_string()),
    ]
    .into()
}

/// `--kafka-property` flags for `properties`.
fn property_flags(properties: &std::collections::BTreeMap<String, String>) -> Vec<String> {
    properties
        .iter()
        .flat_map(|(k, v)| ["--kafka-property".to_owned(), format!("{k}={v}")])
        .collect()
}

/// A `harness run` of 2 producers × 500 events/s × 3 s over the connection of `kafka` (its bootstrap
/// and properties, as flags), which must be exact; what it said.
fn exact_run(kafka: &KafkaSection, out: &std::path::Path) -> String {
    let run = Command::new(bin("harness"))
        .args(["run", "--bootstrap", &kafka.bootstrap, "--partitions", "2"])
        .args(property_flags(&kafka.properties))
        .args(["--producers", "2", "--rate", "500", "--duration", "3"])
        .args(["--window", "1", "--out"])
        .arg(out)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{said}");
    assert!(said.contains("verification EXACT"), "{said}");
    said
}

#[test]
fn a_run_over_tls_is_exact() {
    let b = TlsBroker::start("tls-run");
    exact_run(&b.t.kafka, &b.dir.join("run"));
}

/// Runs the job against the broker with `properties`; its exit code, stderr and how long it took.
fn job_with(
    bootstrap: &str,
    properties: &std::collections::BTreeMap<String, String>,
) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = Command::new(bin("dataflow"))
        .args(["--bootstrap", bootstrap, "--mode", "bounded"])
        .args(property_flags(properties))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        started.elapsed(),
    )
}

/// Runs the job against `bootstrap` with `properties`, which the broker must refuse: exit 1, within
/// [`FAILS_WITHIN`], with one line naming the broker and containing `why`; that line.
fn refused_in_one_line(
    bootstrap: &str,
    properties: &std::collections::BTreeMap<String, String>,
    why: &str,
) -> String {
    let (code, stderr, took) = job_with(bootstrap, properties);
    assert_eq!(code, Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let refused = format!("error: the broker at {bootstrap} refused the connection: ");
    assert!(
        stderr.starts_with(&refused) && stderr.contains(why),
        "{stderr}"
    );
    assert!(took < FAILS_WITHIN, "took {took:?}");
    stderr
}

#[test]
fn a_client_that_does_not_trust_the_brokers_certificate_fails_with_one_clear_line() {
    let b = TlsBroker::start("tls-wrong-ca");
    let other = Certificates::make(&b.dir.join("other"), "some-other-ca");
    refused_in_one_line(
        &b.t.kafka.bootstrap,
        &tls_properties(&other.ca),
        "certificate verify failed",
    );
}

#[test]
fn a_sasl_client_a_broker_rejects_fails_with_one_clear_line() {
    // A broker without SASL: the client's handshake is refused.
    let t = TestBroker::with_topics(2);
    let stderr = refused_in_one_line(&t.kafka.bootstrap, &scram("adstream", "secret"), "SASL");
    assert!(
        !stderr.contains("secret"),
        "the password is not shown: {stderr}"
    );
}

/// SASL/SCRAM client properties for `user` with `password`.
fn scram(user: &str, password: &str) -> std::collections::BTreeMap<String, String> {
    [
        ("security.protocol", "SASL_PLAINTEXT"),
        ("sasl.mechanism", "SCRAM-SHA-512"),
        ("sasl.username", user),
        ("sasl.password", password),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

#[test]
fn a_run_with_sasl_scram_credentials_is_exact_and_a_wrong_password_fails_with_one_line() {
    let dir = std::env::temp_dir().join(format!("adstream-sasl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let listen = format!("127.0.0.1:{}", free_port().unwrap());
    let storage = Storage::Sqlite(dir.join("tansu.db"));
    // The user is made while the broker still lets anyone in; its SQLite file keeps it.
    LocalBroker::start_with(&Setup {
        storage: storage.clone(),
        ..Setup::at(&listen)
    })
    .unwrap()
    .create_scram_user("adstream", "s3cret")
    .unwrap();
    let credentials = scram("adstream", "s3cret");
    let broker = LocalBroker::start_with(&Setup {
        storage,
        authentication: true,
        client: Connection {
            bootstrap: listen.clone(),
            properties: adstream_profile::client::ClientProperties {
                all: credentials.clone(),
                ..Default::default()
            },
        },
        ..Setup::at(&listen)
    })
    .unwrap();
    let mut kafka = KafkaSection {
        bootstrap: listen,
        partitions: 2,
        ..KafkaSection::default()
    };
    kafka.properties = credentials.clone();
    let t = TestBroker::create_topics(broker, kafka);

    let said = exact_run(&t.kafka, &dir.join("run"));
    assert!(!said.contains("s3cret"), "{said}");

    refused_in_one_line(
        &t.kafka.bootstrap,
        &scram("adstream", "wrong"),
        "SASL authentication error",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
