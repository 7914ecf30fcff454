//! `harness broker`: the local broker in the foreground until SIGINT, SIGTERM or SIGHUP, which stop it
//! (and it dies with the harness even on SIGKILL: it is an owned process).

use std::time::Duration;

use adstream_harness::experiment::interrupt::Interrupt;
use adstream_harness::services::broker::{
    Build, LocalBroker, TANSU_VERSION, ensure_build, ensure_tansu,
};
use adstream_profile::profile::DEFAULT_BOOTSTRAP;
use clap::Args;

/// How often the foreground broker is checked for having exited on its own.
const CHECK_EVERY: Duration = Duration::from_millis(200);

/// Flags of `harness broker`.
#[derive(Debug, Args)]
pub struct BrokerArgs {
    /// Address to listen on
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_BOOTSTRAP)]
    listen: String,
    /// Only make sure the broker binary is installed (into the per-user cache), then exit
    #[arg(long)]
    install_only: bool,
    /// With --install-only: also the build with SQLite storage, which keeps SASL/SCRAM users (the
    /// SASL tests use it)
    #[arg(long, requires = "install_only")]
    with_sql: bool,
}

/// Runs the broker until a signal stops it; fails if it exits on its own.
pub fn run(args: &BrokerArgs) -> anyhow::Result<()> {
    let tansu = ensure_tansu()?;
    if args.install_only {
        println!("{}", tansu.display());
        if args.with_sql {
            println!("{}", ensure_build(Build::Sql)?.display());
        }
        return Ok(());
    }
    let interrupt = Interrupt::install()?;
    let mut broker = LocalBroker::start(&args.listen)?;
    eprintln!(
        "tansu {TANSU_VERSION} listening on {} (pid {}, memory storage, log {}); Ctrl-C stops it",
        broker.address(),
        broker.pid(),
        broker.log_path().display()
    );
    loop {
        if let Some(status) = broker.try_status()? {
            anyhow::bail!("the broker exited: {status}");
        }
        if interrupt.wait(CHECK_EVERY) {
            drop(broker);
            eprintln!("broker stopped");
            return Ok(());
        }
    }
}
