//! Where a run's job processes run: one local process without a hostfile, else one per hostfile line —
//! lines on this machine's loopback are launched by the harness; every other line is either started by
//! the user on its host with the exact command printed here (`job.launch = "print"`), or started by the
//! harness over the system's `ssh` (`"ssh"`, [`SshLaunch`]).

use std::fmt;
use std::path::{Path, PathBuf};

use std::ffi::OsString;
use std::process::{Command, Stdio};
use std::time::Duration;

use adstream_profile::address::{HostPort, is_loopback};
use adstream_profile::hostfile::{HostLine, Hostfile};
use adstream_profile::profile::{JobSection, Launch, Profile, SshSection};

use crate::experiment::error::RunError;
use crate::services::broker::free_port;

/// What a run starts: the binaries, and the profile they read.
#[derive(Debug, Clone)]
pub struct Programs<'a> {
    /// The effective profile.
    pub profile: &'a Profile,
    /// Its file, as the children read it (absolute).
    pub profile_path: &'a Path,
    /// The `dataflow` binary.
    pub dataflow: &'a Path,
    /// The `producer` binary.
    pub producer: &'a Path,
    /// Whether the harness wrote the job's hostfile (loopback ports of its choosing): then each
    /// incarnation of the job gets fresh ports, so a restarted job does not meet what was wrong with
    /// the old connections (a port still held, a link cut).
    pub own_hostfile: bool,
    /// Another engine's job, when the run measures one instead of adstream's processes.
    pub engine: Option<&'a crate::experiment::engine_job::EngineJob>,
}

/// How long the job's workers may take to report that they read their partitions.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the job may take to become ready when some of its processes are started by hand on other
/// hosts.
const REMOTE_READY_TIMEOUT: Duration = Duration::from_secs(600);
/// How long the harness waits for the job's workers to say they read their partitions, with what to
/// tell the user first: long when `remote` processes are started by hand on other hosts.
pub fn ready_timeout(profile: &Profile, remote: u32) -> (Duration, Vec<String>) {
    if remote == 0 {
        return (READY_TIMEOUT, Vec::new());
    }
    let bootstrap = &profile.kafka.bootstrap;
    let host = bootstrap.rsplit_once(':').map_or("", |(h, _)| h);
    let mut notes = Vec::new();
    if is_loopback(host) {
        notes.push(format!(
            "note: the remote processes must reach the broker at {bootstrap}, a loopback address"
        ));
    }
    notes.push(format!(
        "waiting up to {}s for {remote} remote job process(es) to join",
        REMOTE_READY_TIMEOUT.as_secs()
    ));
    (REMOTE_READY_TIMEOUT, notes)
}

/// Writes a hostfile of `processes` free loopback ports into `dir`.
pub fn local_hostfile(dir: &Path, processes: u32) -> Result<PathBuf, RunError> {
    let mut text = String::new();
    for _ in 0..processes {
        let port = free_port().map_err(RunError::io("find a free port"))?;
        text.push_str(&format!("127.0.0.1:{port}\n"));
    }
    let path = dir.join("hostfile");
    std::fs::write(&path, text).map_err(RunError::io(format!("write {}", path.display())))?;
    Ok(path)
}

/// The job's processes: the hostfile's lines, or one local process when there is no hostfile.
pub fn job_processes(job: &JobSection) -> Result<Vec<HostLine>, RunError> {
    let Some(path) = job.hostfile.as_ref().filter(|_| job.processes > 1) else {
        return Ok(vec![HostLine {
            process: 0,
            address: HostPort {
                host: "127.0.0.1".to_owned(),
                port: 0,
            },
        }]);
    };
    let hostfile = Hostfile::read(path)?.expect_processes(job.processes)?;
    // The harness follows the job through the processes it starts; printed ones it only waits for.
    if job.launch == Launch::Print && !hostfile.lines().iter().any(HostLine::is_local) {
        return Err(RunError::NoLocalProcess(path.clone()));
    }
    Ok(hostfile.lines().to_vec())
}

/// The command line of one job process: the contract between the harness and `dataflow`, written once
/// and rendered for each way a process starts — as arguments here ([`JobCommand::args`]), as a shell
/// command on its host ([`JobCommand::shell`]), and for a person to type ([`fmt::Display`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCommand {
    /// The `dataflow` binary.
    pub dataflow: PathBuf,
    /// The run's profile (as written for the run).
    pub config: PathBuf,
    /// The hostfile, when the process is told it apart from the profile.
    pub hostfile: Option<PathBuf>,
    /// The process's index in the hostfile.
    pub process: u32,
}

impl JobCommand {
    /// The flags and their values, in order.
    fn flags(&self) -> Vec<(&'static str, String)> {
        let mut flags = vec![("--config", self.config.display().to_string())];
        if let Some(hostfile) = &self.hostfile {
            flags.push(("--hostfile", hostfile.display().to_string()));
        }
        flags.push(("--process", self.process.to_string()));
        flags
    }

    /// The arguments of the binary.
    pub fn args(&self) -> Vec<OsString> {
        let mut args = Vec::new();
        for (flag, value) in self.flags() {
            args.extend([OsString::from(flag), OsString::from(value)]);
        }
        args
    }

    /// The whole command for a POSIX shell, every path quoted.
    pub fn shell(&self) -> String {
        let mut words = vec![quote(&self.dataflow.display().to_string())];
        for (flag, value) in self.flags() {
            words.extend([flag.to_owned(), quote(&value)]);
        }
        words.join(" ")
    }

    /// The same process on a host where the profile and the hostfile were copied into `dir` and the
    /// binary is `dataflow`.
    pub fn on_host(&self, dir: &Path, dataflow: &Path) -> Self {
        Self {
            dataflow: dataflow.to_owned(),
            config: dir.join(file_name(&self.config)),
            hostfile: self.hostfile.as_ref().map(|h| dir.join(file_name(h))),
            process: self.process,
        }
    }
}

impl fmt::Display for JobCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.dataflow.display())?;
        for (flag, value) in self.flags() {
            write!(f, " {flag} {value}")?;
        }
        Ok(())
    }
}

/// How a job process is started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// By the harness, on this machine.
    Here,
    /// By the harness on its host, over the system's `ssh`, with the files copied into `dir` there.
    OverSsh {
        /// The directory on the host for the profile and the hostfile.
        dir: String,
    },
    /// By the user on its host, with the command the harness prints.
    ByHand,
}

/// One job process of a run: where it runs, what it runs, and who starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobLaunch {
    /// The process and its host.
    pub line: HostLine,
    /// What it runs, with this machine's files.
    pub command: JobCommand,
    /// Who starts it.
    pub start: Start,
}

impl JobLaunch {
    /// What to tell the user who starts it by hand.
    pub fn instructions(&self) -> String {
        let hostfile = self
            .command
            .hostfile
            .as_deref()
            .unwrap_or(Path::new("hostfile"));
        format!(
            "job process {} runs on {}: copy {} and {} there, then run\n  {}",
            self.line.process,
            self.line.address.host,
            self.command.config.display(),
            hostfile.display(),
            self.command.on_host(Path::new(""), Path::new("dataflow"))
        )
    }
}

/// Every job process of a run of `profile` (written to `config`), with the `dataflow` binary here.
pub fn plan_job(
    profile: &Profile,
    config: &Path,
    dataflow: &Path,
) -> Result<Vec<JobLaunch>, RunError> {
    let job = &profile.job;
    let mut launches = Vec::new();
    for line in job_processes(job)? {
        let ssh = over_ssh(job, &profile.ssh, &line);
        let start = if ssh {
            let dir =
                profile.ssh.dir.clone().unwrap_or_else(|| {
                    format!("/tmp/adstream-{}", job.id.as_deref().unwrap_or("run"))
                });
            Start::OverSsh { dir }
        } else if line.is_local() {
            Start::Here
        } else {
            Start::ByHand
        };
        // A process here reads the hostfile its profile names; one elsewhere is given the copy.
        let hostfile = match start {
            Start::Here => None,
            _ => Some(absolute_hostfile(job.hostfile.as_deref())?),
        };
        let command = JobCommand {
            dataflow: dataflow.to_owned(),
            config: config.to_owned(),
            hostfile,
            process: line.process,
        };
        launches.push(JobLaunch {
            line,
            command,
            start,
        });
    }
    Ok(launches)
}

/// The hostfile's absolute path (a job with remote lines has one).
fn absolute_hostfile(hostfile: Option<&Path>) -> Result<PathBuf, RunError> {
    let hostfile = hostfile.unwrap_or(Path::new("hostfile"));
    std::path::absolute(hostfile).map_err(RunError::io("resolve the hostfile"))
}

/// Whether `line` is started by the harness over ssh rather than here or by hand: a line on another
/// host with `job.launch = "ssh"`, or, with `ssh.loopback`, a loopback line after the first.
pub fn over_ssh(job: &JobSection, ssh: &SshSection, line: &HostLine) -> bool {
    job.launch == Launch::Ssh && (!line.is_local() || (ssh.loopback && line.process > 0))
}

/// One job process started on its host over the system's `ssh`: the run's profile and hostfile copied
/// there with `scp`, then `dataflow` run there in a shell that stops it once the session's input closes.
/// The harness holds that input open, so the remote process ends when the harness stops the session —
/// or dies, which ends the `ssh` client with it. Its stdout (the messages) and stderr come back over the
/// session, so the harness follows it like a local process.
#[derive(Debug, Clone, Copy)]
pub struct SshLaunch<'a> {
    /// How to reach the host.
    pub ssh: &'a SshSection,
    /// The process: its host, and its command with this machine's files.
    pub launch: &'a JobLaunch,
    /// The `dataflow` binary on the host.
    pub dataflow: &'a Path,
    /// The directory on the host for the two files.
    pub dir: &'a str,
}

impl SshLaunch<'_> {
    /// `[user@]host`.
    fn destination(&self) -> String {
        let host = &self.launch.line.address.host;
        match &self.ssh.user {
            Some(user) => format!("{user}@{host}"),
            None => host.clone(),
        }
    }

    /// The options `ssh` and `scp` share; `port_flag` is `-p` for ssh and `-P` for scp.
    fn options(&self, port_flag: &str) -> Vec<OsString> {
        // Never ask for a password or a passphrase: a launch that cannot log in fails instead.
        let mut args: Vec<OsString> = vec!["-o".into(), "BatchMode=yes".into()];
        if let Some(port) = self.ssh.port {
            args.extend([port_flag.into(), port.to_string().into()]);
        }
        if let Some(identity) = &self.ssh.identity {
            args.extend(["-i".into(), identity.into()]);
        }
        for option in &self.ssh.options {
            args.extend(["-o".into(), option.into()]);
        }
        args
    }

    /// Copies the profile and the hostfile into the directory on the host.
    pub fn copy(&self) -> Result<(), RunError> {
        let host = &self.launch.line.address.host;
        let local = &self.launch.command;
        let mut mkdir = Command::new("ssh");
        mkdir
            .args(self.options("-p"))
            .arg(self.destination())
            .arg(format!("mkdir -p {}", quote(self.dir)));
        run(&mut mkdir, host, "ssh")?;
        let mut scp = Command::new("scp");
        scp.args(self.options("-P"))
            .arg(&local.config)
            .args(&local.hostfile)
            .arg(format!("{}:{}/", self.destination(), self.dir));
        run(&mut scp, host, "scp")
    }

    /// The `ssh` arguments that run the job process on its host.
    pub fn command(&self) -> Vec<OsString> {
        let dataflow = self
            .launch
            .command
            .on_host(Path::new(self.dir), self.dataflow)
            .shell();
        // dataflow runs in the background; a watcher, also in the background, reads the session's
        // input — kept on fd 3, because a background command's stdin is /dev/null in a
        // non-interactive shell (POSIX) — and kills dataflow when that input ends. The watcher keeps
        // none of the session's output open, so the session ends with dataflow's exit status.
        let script = format!(
            "exec 3<&0; {dataflow} 3<&- & p=$!; {{ cat <&3 >/dev/null; kill $p; }} >/dev/null 2>&1 & \
             exec 3<&-; wait $p"
        );
        let mut args = self.options("-p");
        args.push(self.destination().into());
        args.push(format!("sh -c {}", quote(&script)).into());
        args
    }
}

/// Runs a copying step to completion.
fn run(command: &mut Command, host: &str, step: &'static str) -> Result<(), RunError> {
    let out = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| RunError::Ssh {
            host: host.to_owned(),
            step,
            detail: e.to_string(),
        })?;
    if out.status.success() {
        return Ok(());
    }
    let said = String::from_utf8_lossy(&out.stderr);
    Err(RunError::Ssh {
        host: host.to_owned(),
        step,
        detail: said
            .lines()
            .last()
            .map_or_else(|| out.status.to_string(), str::to_owned),
    })
}

/// `text` quoted for a POSIX shell.
fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_remote_command_names_the_files_and_the_process() {
        let line = HostLine {
            process: 1,
            address: HostPort::parse("10.1.2.3:7001").unwrap(),
        };
        let text = JobLaunch {
            line,
            command: JobCommand {
                dataflow: "/opt/adstream/dataflow".into(),
                config: "/runs/r1/profile.toml".into(),
                hostfile: Some("/etc/adstream/hosts".into()),
                process: 1,
            },
            start: Start::ByHand,
        }
        .instructions();
        assert_eq!(
            text,
            "job process 1 runs on 10.1.2.3: copy /runs/r1/profile.toml and /etc/adstream/hosts there, then run\n  dataflow --config profile.toml --hostfile hosts --process 1"
        );
    }

    #[test]
    fn the_ssh_launch_runs_dataflow_in_a_shell_that_stops_it_with_the_session() {
        let line = HostLine {
            process: 1,
            address: HostPort::parse("10.1.2.3:7001").unwrap(),
        };
        let ssh = SshSection {
            user: Some("ad".into()),
            port: Some(2222),
            identity: Some("/keys/id".into()),
            options: vec!["StrictHostKeyChecking=no".into()],
            ..SshSection::default()
        };
        let job = JobLaunch {
            line,
            command: JobCommand {
                dataflow: "/opt/adstream/dataflow".into(),
                config: "/runs/r1/profile.toml".into(),
                hostfile: Some("/runs/r1/hostfile".into()),
                process: 1,
            },
            start: Start::OverSsh {
                dir: "/tmp/adstream-r1".into(),
            },
        };
        let launch = SshLaunch {
            ssh: &ssh,
            launch: &job,
            dataflow: Path::new("/opt/it's/dataflow"),
            dir: "/tmp/adstream-r1",
        };
        let args: Vec<String> = launch
            .command()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            args[..9],
            [
                "-o",
                "BatchMode=yes",
                "-p",
                "2222",
                "-i",
                "/keys/id",
                "-o",
                "StrictHostKeyChecking=no",
                "ad@10.1.2.3"
            ]
        );
        // What the remote shell runs: checked by running it here, with `echo` as the binary and a
        // quote in the directory, while its input is held open.
        let script = args[9].strip_prefix("sh -c ").unwrap();
        let echo = SshLaunch {
            dataflow: Path::new("/bin/echo"),
            dir: "/tmp/it's here",
            ..launch
        };
        let args = echo.command();
        let remote = args[9].to_string_lossy();
        assert!(script.starts_with("'"), "{script}");
        // The login shell on the host parses the command line; `sh -c` stands in for it.
        let mut sh = Command::new("sh")
            .arg("-c")
            .arg(&*remote)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut said = String::new();
        std::io::Read::read_to_string(&mut sh.stdout.take().unwrap(), &mut said).unwrap();
        assert!(sh.wait().unwrap().success());
        assert_eq!(
            said,
            "--config /tmp/it's here/profile.toml --hostfile /tmp/it's here/hostfile --process 1\n"
        );
    }

    #[test]
    fn without_a_hostfile_the_job_is_one_local_process() {
        let lines = job_processes(&JobSection::default()).unwrap();
        assert_eq!(lines.len(), 1);
        assert!(lines[0].is_local());
    }
}
