//! TLS in front of a local broker, for the tests of secured clusters: a certificate authority and a
//! server certificate for 127.0.0.1 made with the system's `openssl`, and Debian's `stunnel` as the
//! TLS terminator the broker advertises (tansu 0.6 has no TLS listener of its own).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use adstream_harness::services::ownership::owned_command;

/// A certificate authority, and a server certificate it signed for `127.0.0.1`.
pub struct Certificates {
    /// The CA certificate (PEM): what clients trust.
    pub ca: PathBuf,
    /// The server certificate (PEM).
    pub cert: PathBuf,
    /// The server key (PEM).
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Certificates {
    /// Makes a CA named `name` and a server certificate in `dir`.
    pub fn make(dir: &Path, name: &str) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
        ];
        let subject = format!("/CN={name}");
        let mut ca = vec!["req", "-x509", "-days", "2", "-subj", &subject];
        ca.extend(ec);
        ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
        openssl(dir, &ca);
        let mut csr = vec!["req", "-subj", "/CN=127.0.0.1"];
        csr.extend(ec);
        csr.extend(["-keyout", "server.key", "-out", "server.csr"]);
        openssl(dir, &csr);
        std::fs::write(dir.join("san.cnf"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-days",
                "2",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-extfile",
                "san.cnf",
                "-out",
                "server.pem",
            ],
        );
        Self {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        }
    }
}

/// `stunnel` accepting TLS on `address` and relaying in clear to a broker; stopped on drop (and when
/// the test process dies).
pub struct Stunnel {
    child: Child,
    /// Where TLS clients connect.
    pub address: String,
}

impl Stunnel {
    /// Starts stunnel on `accept`, relaying to `connect`, with `certs`; returns once it accepts
    /// connections.
    pub fn start(accept: &str, connect: &str, certs: &Certificates, dir: &Path) -> Self {
        let config = dir.join("stunnel.conf");
        std::fs::write(
            &config,
            format!(
                "foreground = yes\npid =\n[kafka]\naccept = {accept}\nconnect = {connect}\ncert = {}\nkey = {}\n",
                certs.cert.display(),
                certs.key.display()
            ),
        )
        .unwrap();
        let mut child = owned_command(&stunnel())
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start stunnel");
        // Ready once it says its configuration is loaded (it listens by then); its log is drained.
        let (said, lines) = crate::lines_until(child.stderr.take().unwrap(), |line| {
            line.contains("Configuration successful")
        });
        assert!(
            TcpStream::connect(accept).is_ok(),
            "stunnel does not listen on {accept}: {}",
            said.join(" | ")
        );
        std::thread::spawn(move || lines.for_each(drop));
        Self {
            child,
            address: accept.to_owned(),
        }
    }
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Debian's stunnel, installed with apt-get when missing (as `.ci/run` does up front).
fn stunnel() -> PathBuf {
    let found = || which("stunnel4").or_else(|| which("stunnel"));
    if let Some(path) = found() {
        return path;
    }
    let installed = Command::new("apt-get")
        .args(["install", "-y", "-qq", "stunnel4"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    found().filter(|_| installed).expect(
        "stunnel is missing and `apt-get install stunnel4` failed: install Debian's stunnel4",
    )
}

/// The path of `program` on PATH.
fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}
