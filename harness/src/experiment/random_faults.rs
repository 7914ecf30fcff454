//! A seeded random fault schedule for long runs (`harness run --random-faults SECONDS`): about one
//! fault every SECONDS, each a kind drawn at random among those the run can survive — a job process
//! killed or stopped (briefly, or past the liveness limit so it is found and restarted), a producer
//! killed or stopped, the local broker stopped, and killed when its storage keeps its data, and, where
//! iptables can be used, a job process or the broker briefly cut off the network. The same
//! seed gives the same schedule, which the run prints, so a soak that failed can be run again as it was.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::experiment::fault_plan::{Action, FaultPlan};
use crate::experiment::role::Role;

/// What a run has to inject faults into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Targets {
    /// Job processes.
    pub jobs: u32,
    /// Producers.
    pub producers: u32,
    /// Whether the harness owns the broker (it can be stopped).
    pub broker: bool,
    /// Whether the broker keeps its data when killed (it can be killed).
    pub broker_durable: bool,
    /// Whether ports can be cut off the network here (iptables, as root).
    pub cuts: bool,
    /// The liveness limit: a stop longer than it is a hang the run must find.
    pub limit: Duration,
}

/// The kinds a fault is drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    KillJob,
    PauseJob,
    HangJob,
    KillProducer,
    PauseProducer,
    PauseBroker,
    KillBroker,
    CutJob,
    CutBroker,
}

impl Targets {
    fn kinds(&self) -> Vec<Kind> {
        let mut kinds = vec![Kind::KillJob, Kind::PauseJob, Kind::HangJob];
        if self.producers > 0 {
            kinds.extend([Kind::KillProducer, Kind::PauseProducer]);
        }
        if self.broker {
            kinds.push(Kind::PauseBroker);
        }
        if self.broker && self.broker_durable {
            kinds.push(Kind::KillBroker);
        }
        if self.cuts {
            kinds.push(Kind::CutJob);
            if self.broker {
                kinds.push(Kind::CutBroker);
            }
        }
        kinds
    }
}

/// About one fault every `every` over `duration` seconds of the run (none in its first or last
/// `every`, so the run starts and ends undisturbed), drawn with `seed`; in time order.
pub fn random_schedule(
    seed: u64,
    duration: Duration,
    every: Duration,
    targets: &Targets,
) -> Vec<FaultPlan> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let kinds = targets.kinds();
    let limit = targets.limit.as_secs_f64();
    let mut faults = Vec::new();
    let mut at = every.as_secs_f64();
    let end = duration.as_secs_f64() - every.as_secs_f64();
    while at < end {
        let when = Duration::from_secs_f64((at * 10.0).round() / 10.0);
        let secs = |rng: &mut ChaCha8Rng, from: f64, to: f64| {
            Some(Duration::from_secs_f64(
                (rng.random_range(from..to) * 10.0).round() / 10.0,
            ))
        };
        let job = Role::Job(rng.random_range(0..targets.jobs));
        let producer = Role::Producer(rng.random_range(0..targets.producers.max(1)));
        let (action, target, lasts) = match kinds[rng.random_range(0..kinds.len())] {
            Kind::KillJob => (Action::Kill, job, None),
            Kind::PauseJob => (Action::Stop, job, secs(&mut rng, 1.0, limit / 2.0)),
            Kind::HangJob => (Action::Stop, job, secs(&mut rng, limit + 2.0, limit + 10.0)),
            Kind::KillProducer => (Action::Kill, producer, None),
            Kind::PauseProducer => (Action::Stop, producer, secs(&mut rng, 1.0, 10.0)),
            Kind::PauseBroker => (Action::Stop, Role::Broker, secs(&mut rng, 1.0, limit / 2.0)),
            Kind::KillBroker => (Action::Kill, Role::Broker, None),
            Kind::CutJob => (Action::Cut, job, secs(&mut rng, 1.0, limit / 2.0)),
            Kind::CutBroker => (Action::Cut, Role::Broker, secs(&mut rng, 1.0, limit / 2.0)),
        };
        faults.push(FaultPlan {
            action,
            target,
            at: when,
            lasts,
        });
        // The next one comes after about `every`: between half and one and a half of it.
        at += every.as_secs_f64() * rng.random_range(0.5..1.5);
    }
    faults
}

#[cfg(test)]
mod tests {
    use super::*;

    fn targets(broker_durable: bool) -> Targets {
        Targets {
            jobs: 2,
            producers: 2,
            broker: true,
            broker_durable,
            cuts: broker_durable,
            limit: Duration::from_secs(8),
        }
    }

    #[test]
    fn a_seed_gives_one_schedule_of_every_kind_in_time_order_inside_the_run() {
        let (duration, every) = (Duration::from_secs(600), Duration::from_secs(30));
        let a = random_schedule(7, duration, every, &targets(false));
        assert_eq!(a, random_schedule(7, duration, every, &targets(false)));
        assert_ne!(a, random_schedule(8, duration, every, &targets(false)));
        assert!((12..=28).contains(&a.len()), "{}", a.len());
        assert!(a.windows(2).all(|w| w[0].at < w[1].at));
        assert!(a.first().unwrap().at >= every);
        assert!(a.last().unwrap().at < duration - every);
        for fault in &a {
            assert!(fault.within(2, 2, true).is_ok(), "{fault}");
            match (fault.action, fault.lasts) {
                (Action::Kill, lasts) => assert_eq!(lasts, None, "{fault}"),
                (Action::Stop | Action::Cut, lasts) => assert!(lasts.is_some(), "{fault}"),
            }
        }
        // With memory storage the broker is only ever stopped, briefly; without iptables nothing is
        // cut.
        assert!(
            !a.iter()
                .any(|f| f.target == Role::Broker && f.action == Action::Kill)
        );
        assert!(!a.iter().any(|f| f.action == Action::Cut));
        let many = random_schedule(1, Duration::from_secs(6_000), every, &targets(true));
        let has = |action, target: fn(Role) -> bool| {
            many.iter().any(|f| f.action == action && target(f.target))
        };
        assert!(has(Action::Kill, |t| matches!(t, Role::Job(_))));
        assert!(has(Action::Stop, |t| matches!(t, Role::Job(_))));
        assert!(has(Action::Kill, |t| matches!(t, Role::Producer(_))));
        assert!(has(Action::Stop, |t| matches!(t, Role::Producer(_))));
        assert!(has(Action::Stop, |t| t == Role::Broker));
        assert!(has(Action::Kill, |t| t == Role::Broker));
        assert!(has(Action::Cut, |t| matches!(t, Role::Job(_))));
        assert!(has(Action::Cut, |t| t == Role::Broker));
        // Some stops of job processes outlast the limit: hangs the run must find.
        assert!(many.iter().any(|f| matches!(f.target, Role::Job(_))
            && f.lasts.is_some_and(|l| l > Duration::from_secs(8))));
    }
}
