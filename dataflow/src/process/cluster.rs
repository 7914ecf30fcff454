//! The timely configuration of a job process, built in code from our own options (timely's getopts
//! flags would clash with ours): threads per process, and for several processes the hostfile.

use adstream_profile::hostfile::{Hostfile, HostfileError};
use adstream_profile::profile::JobSection;
use timely::{CommunicationConfig, WorkerConfig};

/// A problem with the cluster options.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The hostfile cannot be used.
    #[error(transparent)]
    Hostfile(#[from] HostfileError),
    /// Several processes without a hostfile.
    #[error("--processes {0} needs --hostfile (one host:port per process)")]
    NoHostfile(u32),
}

/// The timely configuration of process `job.process` of the job.
pub fn timely_config(job: &JobSection) -> Result<timely::Config, ClusterError> {
    let threads = job.workers as usize;
    let communication = match (&job.hostfile, job.processes) {
        (None, 1) => CommunicationConfig::Process(threads),
        (None, n) => return Err(ClusterError::NoHostfile(n)),
        (Some(path), processes) => CommunicationConfig::Cluster {
            threads,
            process: job.process as usize,
            addresses: Hostfile::read(path)?
                .expect_processes(processes)?
                .addresses(),
            report: false,
            zerocopy: false,
        },
    };
    Ok(timely::Config {
        communication,
        worker: WorkerConfig::default(),
    })
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn hostfile(text: &str) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "adstream-hosts-{}-{}",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn one_process_needs_no_hostfile_and_several_do() {
        let job = JobSection {
            workers: 3,
            ..JobSection::default()
        };
        assert!(matches!(
            timely_config(&job).unwrap().communication,
            CommunicationConfig::Process(3)
        ));
        let job = JobSection {
            processes: 2,
            ..JobSection::default()
        };
        assert_eq!(
            timely_config(&job).unwrap_err().to_string(),
            "--processes 2 needs --hostfile (one host:port per process)"
        );
    }

    #[test]
    fn the_hostfile_decides_the_cluster() {
        let path = hostfile("# two local processes\n127.0.0.1:7001\n\n127.0.0.2:7002\n");
        let job = JobSection {
            workers: 2,
            processes: 2,
            process: 1,
            hostfile: Some(path.clone()),
            ..JobSection::default()
        };
        match timely_config(&job).unwrap().communication {
            CommunicationConfig::Cluster {
                threads,
                process,
                addresses,
                ..
            } => {
                assert_eq!((threads, process), (2, 1));
                assert_eq!(addresses, ["127.0.0.1:7001", "127.0.0.2:7002"]);
            }
            other => panic!("{other:?}"),
        }
        let three = JobSection {
            processes: 3,
            ..job
        };
        assert!(
            timely_config(&three)
                .unwrap_err()
                .to_string()
                .contains("names 2 processes but --processes is 3")
        );
        std::fs::remove_file(path).unwrap();
    }
}
