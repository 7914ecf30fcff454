//! Injecting the faults a run plans (`--kill`, `--fault`): a kill is SIGKILL, after which the child's
//! exit is handled like any failure; a stop is SIGSTOP, and SIGCONT when it is over; a cut drops every
//! packet of the target's port until it is over — what follows in between (a silent job process found
//! and restarted, a producer falling behind, a broker not answering) is the run's ordinary handling of
//! such a child.

use adstream_profile::address::HostPort;

use crate::experiment::error::RunError;
use crate::experiment::fault_plan::{Action, FaultPlan};
use crate::experiment::role::Role;
use crate::services::cut::Cut;
use crate::services::signals::{self, Signal};

use super::Follow;

impl Follow<'_> {
    /// Injects `fault` now.
    pub(super) fn inject(&mut self, fault: FaultPlan) -> Result<(), RunError> {
        self.display.println(&format!("injecting {fault}"));
        self.mark("fault", fault.to_string());
        match (fault.action, fault.target, self.broker) {
            (Action::Kill, Role::Broker, Some(broker)) => broker.borrow_mut().kill(),
            (Action::Kill, target, _) => self.supervisor.kill(target)?,
            (Action::Stop, target, _) => self.signal(target, Signal::Stop)?,
            (Action::Cut, Role::Broker, Some(_)) => {
                // The broker the harness starts listens on the one address `kafka.bootstrap` names.
                if let Ok(address) = HostPort::parse(&self.programs.profile.kafka.bootstrap) {
                    self.cuts.insert(Role::Broker, Cut::port(address.port)?);
                }
            }
            (Action::Cut, Role::Job(i), _) => {
                let ports: Vec<u16> = self
                    .jobs
                    .iter()
                    .filter(|j| j.line.is_local())
                    .map(|j| j.line.address.port)
                    .collect();
                if let Some(pid) = self.supervisor.pid(Role::Job(i)) {
                    self.cuts.insert(Role::Job(i), Cut::links(pid, &ports)?);
                }
            }
            (Action::Cut, _, _) => {}
        }
        Ok(())
    }

    /// Ends the stop or cut of `target` that is over.
    pub(super) fn end_fault(&mut self, target: Role, action: Action) -> Result<(), RunError> {
        self.mark("recovered", format!("{target} back"));
        match action {
            Action::Cut => {
                self.cuts.remove(&target);
            }
            _ => self.signal(target, Signal::Cont)?,
        }
        Ok(())
    }

    /// Sends `signal` to `target`, when it runs (a child restarted meanwhile is a new process, which
    /// a continue does not hurt).
    pub(super) fn signal(&mut self, target: Role, signal: Signal) -> Result<(), RunError> {
        let pid = match (target, self.broker) {
            (Role::Broker, Some(broker)) => Some(broker.borrow().pid()),
            (Role::Broker, None) => None,
            (child, _) => self.supervisor.pid(child),
        };
        if let Some(pid) = pid {
            signals::send(pid, signal)
                .map_err(RunError::io(format!("signal {target} ({signal:?})")))?;
        }
        Ok(())
    }
}
