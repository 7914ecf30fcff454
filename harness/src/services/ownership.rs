//! Process ownership: every process the harness starts — the broker, the job's processes, the
//! producers — dies with the harness, even when the harness is killed with SIGKILL and cannot stop it.
//!
//! How: the child is started through util-linux's `setpriv --pdeathsig KILL`, which asks Linux
//! (`PR_SET_PDEATHSIG`) to send the child SIGKILL when its parent goes, then executes the program in
//! its place (same pid, same command line after it). The signal follows the *thread* that started the
//! child, so children are started from threads that outlive them (the harness's main thread). A normal
//! end — the run finishing, Ctrl-C, SIGTERM — still stops children in order (their guards kill and reap
//! them); this is the net for the cases where the harness gets no say.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// util-linux's `setpriv`, where it is installed (it is in every Debian system: util-linux is
/// essential).
fn setpriv() -> Option<&'static Path> {
    static SETPRIV: OnceLock<Option<PathBuf>> = OnceLock::new();
    SETPRIV
        .get_or_init(|| {
            let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .chain([PathBuf::from("/usr/bin"), PathBuf::from("/bin")])
                .map(|dir| dir.join("setpriv"))
                .find(|candidate| candidate.is_file());
            if found.is_none() {
                eprintln!(
                    "note: `setpriv` (util-linux) is not installed: the harness's children may outlive a \
                     harness that is killed with SIGKILL"
                );
            }
            found
        })
        .as_deref()
}

/// A command for `program` whose process is killed when the calling thread's process dies.
pub fn owned_command(program: &Path) -> Command {
    match setpriv() {
        Some(setpriv) => {
            let mut command = Command::new(setpriv);
            command.args(["--pdeathsig", "KILL", "--"]).arg(program);
            command
        }
        None => Command::new(program),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_command_runs_the_program_with_its_arguments() {
        let output = owned_command(Path::new("/bin/echo"))
            .arg("hello")
            .output()
            .expect("run echo");
        assert!(output.status.success());
        assert_eq!(String::from_utf8_lossy(&output.stdout), "hello\n");
    }
}
