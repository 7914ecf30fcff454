//! Client properties (ARCHITECTURE.md, "Client settings and secured clusters"): a property from the
//! profile and one from `--kafka-property` reach every client the harness, the job and the
//! producers make — seen on the wire, as the broker sees each request's `client_id` — and a
//! property that would break a guarantee is refused by every binary with one line saying why.

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use adstream_tests::bin;
use adstream_tests::wire_tap::WireTap;

#[test]
fn properties_from_the_profile_and_the_flag_reach_every_client() {
    // The broker tells clients to connect through the tap, so every connection passes it.
    let (tap, t) = WireTap::before_a_broker(2);
    let dir = std::env::temp_dir().join(format!("adstream-properties-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        "[kafka.producer_properties]\nclient.id = \"from-profile\"\n",
    )
    .unwrap();
    let before = tap.client_ids();
    let out = Command::new(bin("harness"))
        .args(["run", "--config"])
        .arg(&profile)
        .args(["--bootstrap", &t.kafka.bootstrap, "--partitions", "2"])
        .args([
            "--producers",
            "1",
            "--rate",
            "500",
            "--duration",
            "2",
            "--window",
            "1",
        ])
        .args(["--kafka-property", "client.id=from-flag"])
        // A secret (unused without SASL): the children read it; the report does not show it.
        .args(["--kafka-property", "sasl.password=hunter2"])
        .arg("--out")
        .arg(dir.join("run"))
        .stdout(Stdio::null())
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("verification EXACT"), "{said}");
    // The producers (ours and the job's) take the producers' table over every client's; every other
    // client (the harness's readers and admin, the job's reader) has every client's. No client was
    // left with librdkafka's default id.
    let seen: BTreeSet<String> = tap.client_ids().difference(&before).cloned().collect();
    assert_eq!(
        seen,
        BTreeSet::from(["from-flag".to_owned(), "from-profile".to_owned()])
    );
    let report = std::fs::read_to_string(dir.join("run/report.json")).unwrap();
    assert!(!report.contains("hunter2"), "{report}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    let properties = &report["configuration"]["kafka"]["properties"];
    assert_eq!(properties["sasl.password"], "<redacted>", "{report}");
    assert_eq!(properties["client.id"], "from-flag", "{report}");
    let mode = std::fs::metadata(dir.join("run/profile.toml"))
        .unwrap()
        .permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `binary` with `args`; its exit code and stderr.
fn refused(binary: &str, args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(bin(binary))
        .args(args)
        .stdout(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_property_that_would_break_a_guarantee_is_refused_by_every_binary() {
    // No broker is needed: the configuration is refused before any client is made.
    let flag = ["--kafka-property", "enable.idempotence=false"];
    for (binary, command) in [
        ("harness", vec!["run"]),
        ("dataflow", vec![]),
        ("producer", vec!["--id", "0"]),
    ] {
        let mut args = command.clone();
        args.extend(flag);
        let (code, stderr) = refused(binary, &args);
        assert_eq!(code, Some(2), "{binary}: {stderr}");
        assert_eq!(
            stderr.trim_end(),
            "error: invalid configuration: `kafka.properties` (--kafka-property) \
             `enable.idempotence = false` is refused: idempotence keeps a retried batch from \
             being written twice or out of order; every count and the exactness check rest on it",
            "{binary}"
        );
    }
    let dir = std::env::temp_dir().join(format!("adstream-refused-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let profile = dir.join("profile.toml");
    std::fs::write(
        &profile,
        "[kafka.consumer_properties]\nauto.offset.reset = \"latest\"\n",
    )
    .unwrap();
    let (code, stderr) = refused("dataflow", &["--config", profile.to_str().unwrap()]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.starts_with(
            "error: invalid configuration: `kafka.consumer_properties` (--kafka-property) \
             `auto.offset.reset = latest` is refused: every partition is read from its start"
        ) && stderr.lines().count() == 1,
        "{stderr}"
    );
    // Malformed: one usage line from the flag parser.
    let (code, stderr) = refused("dataflow", &["--kafka-property", "client.id"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("expected KEY=VALUE"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
