//! `harness run`: one experiment (ARCHITECTURE.md, "A run").

use std::cell::RefCell;
use std::path::PathBuf;
use std::time::Duration;

use adstream_harness::experiment::fault_plan::FaultPlan;
use adstream_harness::experiment::interrupt::Interrupt;
use adstream_harness::experiment::random_faults::{Targets, random_schedule};
use adstream_harness::experiment::single_run::Experiment;
use adstream_harness::services::broker::LocalBroker;
use adstream_harness::services::topics::Topics;
use adstream_profile::ConfigError;
use adstream_profile::engine_args::EngineArgs;
use adstream_profile::flags::{
    ConfigArg, JobArgs, KafkaArgs, MetricsArgs, Override, TrafficArgs, WindowArgs,
};
use adstream_profile::profile::{BrokerStorage, Launch, Profile, keys};
use adstream_profile::served::Served;
use clap::Args;

use crate::cli::{UiArg, announce, ensure_broker, out_dir};

/// Flags of `harness run` (and of `harness capacity`, which searches over them).
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
    #[command(flatten)]
    traffic: TrafficArgs,
    #[command(flatten)]
    window: WindowArgs,
    #[arg(long = keys::producers::count.long(), help = keys::producers::count.help_as(
        "Number of producer processes; 0 (with --mode bounded) measures events of producers the \
         harness does not start: it waits for the first event, and the run ends once the input has \
         been quiet for job.idle_close_ms"))]
    producers: Option<u32>,
    #[command(flatten)]
    job: JobArgs,
    #[command(flatten)]
    engine: EngineArgs,
    #[command(flatten)]
    metrics: MetricsArgs,
    /// Directory for the files (a run's: effective profile, hostfile, summary.json, report; a
    /// capacity search's: capacity.json and a directory per run); default out/<command>-<unix ms>
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Show the job's and producers' stderr as it comes
    #[arg(long, short)]
    pub verbose: bool,
    #[arg(long = keys::job::launch.long(), help = keys::job::launch.help, value_enum)]
    launch: Option<Launch>,
    #[arg(long = keys::job::max_restarts.long(), help = keys::job::max_restarts.help, value_name = "N")]
    max_restarts: Option<u32>,
    #[arg(long = keys::kafka::broker_storage.long(), help = keys::kafka::broker_storage.help, value_enum)]
    broker_storage: Option<BrokerStorage>,
    /// Fault injection: SIGKILL job process I, producer I or the local broker this many seconds
    /// after the producers start (repeatable), e.g. --kill job:1@12 --kill producer:0@20 --kill
    /// broker@30; the same as --fault kill:…
    #[arg(long = "kill", value_name = "job:I@S|producer:I@S|broker@S", value_parser = FaultPlan::kill)]
    pub kills: Vec<FaultPlan>,
    /// Fault injection: kill (SIGKILL), stop (SIGSTOP, and SIGCONT after +SECONDS) or cut off the
    /// network (iptables, as root; restored after +SECONDS) a job process, a producer (not cut) or
    /// the local broker this many seconds after the producers start (repeatable), e.g. --fault
    /// stop:job:1@10+15 --fault cut:job:0@20+5 --fault kill:broker@30
    #[arg(long = "fault", value_name = "kill|stop|cut:TARGET@S[+S]")]
    pub faults: Vec<FaultPlan>,
    /// Fault injection for long runs: about one fault every SECONDS, of a kind drawn at random
    /// (job processes and producers killed or stopped, the local broker stopped, and killed when its
    /// storage keeps its data, job processes and the broker cut off briefly where iptables can be
    /// used), from --fault-seed; the schedule is printed
    #[arg(long, value_name = "SECONDS")]
    pub random_faults: Option<f64>,
    /// The seed of --random-faults' schedule
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub fault_seed: u64,
    #[command(flatten)]
    pub ui: UiArg,
}

impl Override for RunArgs {
    fn apply(&self, profile: &mut Profile) {
        if let Some(count) = self.producers {
            profile.producers.count = count;
        }
        if let Some(restarts) = self.max_restarts {
            profile.job.max_restarts = restarts;
        }
        if let Some(launch) = self.launch {
            profile.job.launch = launch;
        }
        if let Some(storage) = self.broker_storage {
            profile.kafka.broker_storage = storage;
        }
    }
}

impl RunArgs {
    /// The faults to inject: `--kill`s and `--fault`s.
    pub fn planned_faults(&self) -> Vec<FaultPlan> {
        self.kills.iter().chain(&self.faults).copied().collect()
    }

    /// The profile these flags describe.
    pub fn profile(&self) -> anyhow::Result<Profile> {
        Ok(self.config.resolve(&[
            &self.kafka,
            &self.traffic,
            &self.window,
            &self.job,
            &self.engine,
            &self.metrics.of(Served::Harness),
            self,
        ])?)
    }
}

/// Runs one experiment; fails unless it completed, the job counted every event and the results are
/// exact.
pub fn run(args: &RunArgs) -> anyhow::Result<()> {
    let profile = args.profile()?;
    let faults = args.planned_faults();
    if another_engine(&profile) {
        refuse_for_engines(&profile, !faults.is_empty() || args.random_faults.is_some())?;
    }
    for fault in &faults {
        fault
            .within(profile.job.processes, profile.producers.count, true)
            .map_err(ConfigError::Flags)?;
    }
    // A place the live page cannot have is a flag mistake: found before anything starts.
    let ui = args.ui.start()?;
    let out = out_dir(args.out.as_deref(), "run")?;
    let broker = ensure_broker(&profile, &out)?.map(RefCell::new);
    let (mut profile, mut faults) = (profile, faults);
    if let Some(every) = args.random_faults {
        let drawn = random_faults(args, &profile, every, broker.as_ref())?;
        // Each fault may cost a restart: the run must not give up on the schedule itself.
        profile.job.max_restarts = profile.job.max_restarts.max(drawn.len() as u32);
        let listed: Vec<String> = drawn.iter().map(ToString::to_string).collect();
        eprintln!(
            "random faults (seed {}): {}; at most {} restarts",
            args.fault_seed,
            listed.join(" "),
            profile.job.max_restarts
        );
        faults.extend(drawn);
    }
    for fault in &faults {
        fault
            .within(
                profile.job.processes,
                profile.producers.count,
                broker.is_some(),
            )
            .map_err(ConfigError::Flags)?;
    }
    // Tests and users may look at the topics once this line is out: they are fresh by then.
    Topics::connect(&profile.kafka)?.clear()?;
    let p = &profile.producers;
    let events = if p.count == 0 {
        "events of producers the harness does not start".to_owned()
    } else {
        format!(
            "{} producers × {} events/s × {} s ({})",
            p.count, p.rate, p.duration, p.generator
        )
    };
    let job = match (&profile.job.command, profile.job.engine) {
        (Some(command), _) => format!("job `{command}`"),
        (None, Some(engine)) => format!("the {engine} reference job"),
        (None, None) => format!(
            "job {} process(es) × {} worker(s)",
            profile.job.processes, profile.job.workers
        ),
    };
    eprintln!(
        "run: {events}, {} partitions, {job}, broker {}",
        profile.kafka.partitions, profile.kafka.bootstrap
    );
    announce(ui.as_ref());
    let interrupt = Interrupt::install()?;
    let experiment = Experiment {
        out: &out,
        echo: args.verbose,
        interrupt: &interrupt,
        broker: broker.as_ref(),
        faults: &faults,
        ui: ui.as_ref(),
    };
    let outcome = experiment.run(&profile)?;
    let (summary, report) = (&outcome.summary, &outcome.report);
    eprintln!("{}", report.table());
    eprintln!(
        "run complete: produced {}, processed {}, rejected {}, late {}; {} results in {} windows; files in {}",
        summary.produced,
        summary.processed,
        summary.rejected,
        summary.late,
        summary.results,
        summary.windows,
        out.display()
    );
    anyhow::ensure!(
        report.verification.exact || !another_engine(&profile),
        "verification failed: NOT EXACT, {} mismatches: {}",
        report.verification.mismatch_count,
        report.verification.mismatches.join("; ")
    );
    anyhow::ensure!(
        summary.counted_all() || another_engine(&profile),
        "the job processed {} events but the producers delivered {}",
        summary.processed,
        summary.produced
    );
    anyhow::ensure!(
        report.verification.exact,
        "verification failed: {} mismatches",
        report.verification.mismatch_count
    );
    eprintln!("report page: {}", out.join("report.html").display());
    // The metrics and the live page show the final figures a while longer, if asked.
    let linger = profile.metrics.linger();
    match outcome.metrics {
        Some(endpoint) => endpoint.serve_until_exit(linger),
        None if ui.is_some() => std::thread::sleep(linger),
        None => {}
    }
    Ok(())
}

/// Whether the run measures another engine's job instead of adstream's own processes.
fn another_engine(profile: &Profile) -> bool {
    profile.job.command.is_some() || profile.job.engine.is_some()
}

/// What a run of another engine cannot do, each one line naming the flag.
fn refuse_for_engines(profile: &Profile, faults: bool) -> Result<(), ConfigError> {
    let flag = if profile.job.command.is_some() {
        "--job"
    } else {
        "--engine"
    };
    if faults {
        return Err(ConfigError::Flags(format!(
            "--kill, --fault and --random-faults act on adstream's own job processes; a run with \
             {flag} measures the job as it is"
        )));
    }
    if profile.producers.count == 0 {
        return Err(keys::producers::count.invalid(format!(
            "must be at least 1 with {flag}: the harness ends another engine's run after its own \
             producers"
        )));
    }
    if profile.job.processes > 1 {
        return Err(keys::job::processes.invalid(format!(
            "applies to adstream's own job; with {flag} the job starts its own processes"
        )));
    }
    Ok(())
}

/// The drawn schedule of `--random-faults EVERY` for the run of `profile`.
fn random_faults(
    args: &RunArgs,
    profile: &Profile,
    every: f64,
    broker: Option<&RefCell<LocalBroker>>,
) -> anyhow::Result<Vec<FaultPlan>> {
    if !(every.is_finite() && every >= 1.0) {
        return Err(ConfigError::Flags(format!(
            "--random-faults takes the seconds between faults, at least 1, got {every}"
        ))
        .into());
    }
    let targets = Targets {
        jobs: profile.job.processes,
        producers: profile.producers.count,
        broker: broker.is_some(),
        broker_durable: broker.is_some_and(|b| b.borrow().durable()),
        cuts: adstream_harness::services::cut::available(),
        limit: Duration::from_millis(profile.job.liveness_timeout_ms),
    };
    Ok(random_schedule(
        args.fault_seed,
        Duration::from_secs(profile.producers.duration),
        Duration::from_secs_f64(every),
        &targets,
    ))
}
