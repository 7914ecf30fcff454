//! The faults a run injects, as the user writes them (`--fault ACTION:TARGET@SECONDS[+SECONDS]`,
//! `--kill TARGET@SECONDS`): what to do to which child, when (seconds after the producers started), and
//! for how long.
//!
//! - `kill:T@S` — SIGKILL: a crash. Not for a time: a killed process does not come back by itself.
//! - `stop:T@S+D` — SIGSTOP, then SIGCONT D seconds later: a process that hangs (a frozen VM, a long
//!   pause) and comes back; `stop:T@S` never continues it.
//! - `cut:T@S+D` — every packet of the target's links dropped for D seconds (for good without): a
//!   job process cut off from its peers, or the broker from its clients. Not for a producer, whose
//!   links to the broker are the broker's to cut.
//!
//! Targets: `job:I`, `producer:I`, `broker` (the local broker the harness started).

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use crate::experiment::role::Role;

/// What a fault does to its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    /// SIGKILL.
    Kill,
    /// SIGSTOP (and SIGCONT when the fault has a duration).
    Stop,
    /// Its port cut off the network (and restored when the fault has a duration).
    Cut,
}

impl Action {
    fn word(self) -> &'static str {
        match self {
            Action::Kill => "kill",
            Action::Stop => "stop",
            Action::Cut => "cut",
        }
    }
}

/// One fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultPlan {
    /// What to do.
    pub action: Action,
    /// To which child.
    pub target: Role,
    /// When, counted from the producers' start.
    pub at: Duration,
    /// For how long (a stop's), or for good (`None`).
    pub lasts: Option<Duration>,
}

/// Why a `--fault` or `--kill` value cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}, got {text:?}")]
pub struct BadFault {
    problem: &'static str,
    text: String,
}

/// The grammar, for error messages.
const FAULT_FORM: &str = "expected kill|stop|cut:TARGET@SECONDS[+SECONDS] with TARGET job:I, \
                          producer:I or broker (e.g. stop:job:1@10+15)";
const KILL_FORM: &str =
    "expected job:I@SECONDS, producer:I@SECONDS or broker@SECONDS (e.g. job:1@12.5)";

fn seconds(text: &str) -> Option<Duration> {
    let seconds: f64 = text.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

fn target(text: &str) -> Option<Role> {
    if text == "broker" {
        return Some(Role::Broker);
    }
    let (kind, index) = text.split_once(':')?;
    let index = index.parse().ok()?;
    match kind {
        "job" => Some(Role::Job(index)),
        "producer" => Some(Role::Producer(index)),
        _ => None,
    }
}

impl FaultPlan {
    /// A `--kill` value: `TARGET@SECONDS`.
    pub fn kill(text: &str) -> Result<Self, BadFault> {
        let bad = || BadFault {
            problem: KILL_FORM,
            text: text.to_owned(),
        };
        let (who, at) = text.split_once('@').ok_or_else(bad)?;
        Ok(Self {
            action: Action::Kill,
            target: target(who).ok_or_else(bad)?,
            at: seconds(at).ok_or_else(bad)?,
            lasts: None,
        })
    }

    /// Whether the run has the child: `jobs` job processes and `producers` producers, each numbered
    /// from 0, and a broker of its own when `owns_broker`; else what is wrong, naming the fault.
    pub fn within(&self, jobs: u32, producers: u32, owns_broker: bool) -> Result<(), String> {
        if let (Action::Cut, Role::Producer(_)) = (self.action, self.target) {
            return Err(format!(
                "{self}: a producer has no port of its own to cut (cut the broker instead)"
            ));
        }
        let (index, count, what) = match self.target {
            Role::Job(i) => (i, jobs, "the job has {} process(es)"),
            Role::Producer(i) => (i, producers, "the run has {} producer(s)"),
            Role::Broker if owns_broker => return Ok(()),
            Role::Broker => {
                return Err(format!(
                    "{self}: the harness injects faults only into a broker it started (the \
                     default address with no broker there)"
                ));
            }
            Role::Engine => {
                return Err(format!(
                    "{self}: another engine's job is measured as it is, without faults"
                ));
            }
        };
        if index < count {
            return Ok(());
        }
        Err(format!(
            "{self}: {}, numbered from 0",
            what.replace("{}", &count.to_string())
        ))
    }
}

impl FromStr for FaultPlan {
    type Err = BadFault;

    fn from_str(text: &str) -> Result<Self, BadFault> {
        let bad = |problem| BadFault {
            problem,
            text: text.to_owned(),
        };
        let (action, rest) = text.split_once(':').ok_or_else(|| bad(FAULT_FORM))?;
        let action = match action {
            "kill" => Action::Kill,
            "stop" => Action::Stop,
            "cut" => Action::Cut,
            _ => return Err(bad(FAULT_FORM)),
        };
        let (who, when) = rest.split_once('@').ok_or_else(|| bad(FAULT_FORM))?;
        let (at, lasts) = match when.split_once('+') {
            Some((at, lasts)) => (at, Some(seconds(lasts).ok_or_else(|| bad(FAULT_FORM))?)),
            None => (when, None),
        };
        if action == Action::Kill && lasts.is_some() {
            return Err(bad(
                "a kill has no duration: a killed process does not come back by itself",
            ));
        }
        Ok(Self {
            action,
            target: target(who).ok_or_else(|| bad(FAULT_FORM))?,
            at: seconds(at).ok_or_else(|| bad(FAULT_FORM))?,
            lasts,
        })
    }
}

impl fmt::Display for FaultPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let who = match self.target {
            Role::Job(i) => format!("job:{i}"),
            Role::Producer(i) => format!("producer:{i}"),
            Role::Broker => "broker".to_owned(),
            Role::Engine => "engine".to_owned(),
        };
        write!(f, "{}:{who}@{}", self.action.word(), self.at.as_secs_f64())?;
        if let Some(lasts) = self.lasts {
            write!(f, "+{}", lasts.as_secs_f64())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_with_their_target_time_and_duration() {
        assert_eq!(
            "stop:job:1@10+15".parse(),
            Ok(FaultPlan {
                action: Action::Stop,
                target: Role::Job(1),
                at: Duration::from_secs(10),
                lasts: Some(Duration::from_secs(15)),
            })
        );
        let never = "stop:broker@2.5".parse::<FaultPlan>().unwrap();
        assert_eq!((never.target, never.lasts), (Role::Broker, None));
        assert_eq!(never.to_string(), "stop:broker@2.5");
        let kill = "kill:producer:0@3".parse::<FaultPlan>().unwrap();
        assert_eq!(kill, FaultPlan::kill("producer:0@3").unwrap());
        assert_eq!(kill.to_string(), "kill:producer:0@3");
        for bad in [
            "stop:job:1",
            "pause:job:1@3",
            "stop:job1@3",
            "stop:job:1@3+x",
            "stop:broker:0@3",
            "stop:job:1@-1",
        ] {
            assert_eq!(
                bad.parse::<FaultPlan>().unwrap_err().to_string(),
                format!("{FAULT_FORM}, got {bad:?}")
            );
        }
        assert_eq!(
            "kill:job:0@3+2"
                .parse::<FaultPlan>()
                .unwrap_err()
                .to_string(),
            "a kill has no duration: a killed process does not come back by itself, got \
             \"kill:job:0@3+2\""
        );
        for bad in [
            "job1@12",
            "job:x@1",
            "job:1@",
            "broker:0@3",
            "job:1@-2",
            "job@1",
        ] {
            assert!(FaultPlan::kill(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_fault_names_what_the_run_does_not_have() {
        let plan: FaultPlan = "stop:producer:2@3+1".parse().unwrap();
        assert_eq!(
            plan.within(2, 2, true),
            Err("stop:producer:2@3+1: the run has 2 producer(s), numbered from 0".to_owned())
        );
        assert!(plan.within(2, 3, false).is_ok());
        let cut: FaultPlan = "cut:producer:0@3+1".parse().unwrap();
        assert!(
            cut.within(2, 2, true)
                .unwrap_err()
                .contains("no port of its own")
        );
        assert!(
            "cut:job:1@3"
                .parse::<FaultPlan>()
                .unwrap()
                .within(2, 2, true)
                .is_ok()
        );
        let broker: FaultPlan = "kill:broker@3".parse().unwrap();
        assert!(broker.within(1, 1, true).is_ok());
        assert!(
            broker
                .within(1, 1, false)
                .unwrap_err()
                .contains("a broker it started")
        );
    }
}
