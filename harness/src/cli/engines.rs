//! `harness engines`: the reference stream jobs `--engine` runs — what each is and whether it is
//! installed — and their install ahead of a run (`--install`), as CI does.

use adstream_harness::services::engines::{describe, install};
use adstream_profile::profile::Engine;
use clap::{Args, ValueEnum};

/// Flags of `harness engines`.
#[derive(Debug, Args)]
pub struct EnginesArgs {
    /// Install these reference engines now (each into ~/.cache/adstream/engines, once)
    #[arg(long, value_enum, num_args = 1.., value_name = "NAME")]
    install: Vec<Engine>,
}

/// Installs what is asked, then lists every reference engine.
pub fn run(args: &EnginesArgs) -> anyhow::Result<()> {
    for engine in &args.install {
        install(*engine)?;
    }
    for engine in Engine::value_variants() {
        let (what, installed) = describe(*engine);
        let place = match installed {
            Some(dir) => format!("installed in {}", dir.display()),
            None if *engine == Engine::Adstream => "built with the harness".to_owned(),
            None => "not installed (installed on first use)".to_owned(),
        };
        let name = engine.to_string();
        println!("{name:<9} {what}: {place}");
    }
    Ok(())
}
