//! A real OpenSSH server for the ssh-launch tests: Debian's `sshd` on a free loopback port, with a host
//! key and a client key the test makes (`ssh-keygen`), accepting only that key; stopped on drop and
//! when the test process dies.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use adstream_harness::services::broker::free_port;
use adstream_harness::services::ownership::owned_command;

/// A running sshd and the client key it accepts.
pub struct Sshd {
    child: Child,
    /// Its port on 127.0.0.1.
    pub port: u16,
    /// The client's private key.
    pub identity: PathBuf,
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdout(Stdio::null())
        .status()
        .expect("run ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

/// Debian's sshd, installed with apt-get when missing (as `.ci/run` does up front).
fn sshd_binary() -> PathBuf {
    let sshd = PathBuf::from("/usr/sbin/sshd");
    if !sshd.is_file() {
        let installed = Command::new("apt-get")
            .args(["install", "-y", "-qq", "openssh-server"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        assert!(
            installed && sshd.is_file(),
            "sshd is missing and `apt-get install openssh-server` failed"
        );
    }
    sshd
}

impl Sshd {
    /// Starts sshd with its keys in `dir`; returns once it listens.
    pub fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let sshd = sshd_binary();
        // sshd checks for its privilege-separation directory even when it is not used.
        let _ = std::fs::create_dir_all("/run/sshd");
        let (host_key, identity) = (dir.join("host_key"), dir.join("id"));
        for key in [&host_key, &identity] {
            let _ = std::fs::remove_file(key);
            let _ = std::fs::remove_file(key.with_extension("pub"));
            keygen(key);
        }
        std::fs::copy(identity.with_extension("pub"), dir.join("authorized_keys")).unwrap();
        let port = free_port().unwrap();
        let config = dir.join("sshd_config");
        std::fs::write(
            &config,
            format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nAuthorizedKeysFile {}\n\
                 PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 UsePAM no\nStrictModes no\nPermitRootLogin prohibit-password\nPidFile none\n\
                 Subsystem sftp internal-sftp\n",
                host_key.display(),
                dir.join("authorized_keys").display()
            ),
        )
        .unwrap();
        let mut child = owned_command(&sshd)
            .args(["-D", "-e", "-f"])
            .arg(&config)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start sshd");
        // Ready once it says it listens; its log is drained.
        let (said, rest) = crate::lines_until(child.stderr.take().unwrap(), |line| {
            line.starts_with("Server listening on 127.0.0.1")
        });
        assert!(
            said.last()
                .is_some_and(|l| l.starts_with("Server listening")),
            "sshd did not start: {}",
            said.join(" | ")
        );
        std::thread::spawn(move || rest.for_each(drop));
        Self {
            child,
            port,
            identity,
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
