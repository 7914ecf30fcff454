//! `harness topics`: create, clear or list the events, results and dead-letter topics (the seed's
//! topic_creation.py and clear_topics.py).

use adstream_harness::services::topics::Topics;
use adstream_profile::flags::{ConfigArg, KafkaArgs};
use clap::Args;

/// Flags of `harness topics`.
#[derive(Debug, Args)]
pub struct TopicsArgs {
    /// What to do
    #[arg(value_enum)]
    action: TopicsAction,
    #[command(flatten)]
    config: ConfigArg,
    #[command(flatten)]
    kafka: KafkaArgs,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum TopicsAction {
    /// Create the topics that do not exist yet.
    Create,
    /// Delete and recreate the topics, empty, with the configured partition count.
    Clear,
    /// List every topic on the broker with its partition count.
    List,
}

/// Does what was asked and says what it did.
pub fn run(args: &TopicsArgs) -> anyhow::Result<()> {
    let profile = args.config.resolve(&[&args.kafka])?;
    let topics = Topics::connect(&profile.kafka)?;
    match args.action {
        TopicsAction::Create => {
            let created = topics.create()?;
            topics.check_partitions()?;
            let (made, kept): (Vec<String>, Vec<String>) = topics
                .names()
                .into_iter()
                .partition(|name| created.contains(name));
            match (made.is_empty(), kept.is_empty()) {
                (false, true) => println!("created {}", made.join(", ")),
                (true, _) => println!("kept {} (already there)", kept.join(", ")),
                (false, false) => println!(
                    "created {}; kept {} (already there)",
                    made.join(", "),
                    kept.join(", ")
                ),
            }
        }
        TopicsAction::Clear => {
            topics.clear()?;
            println!(
                "cleared {} ({} partitions)",
                topics.names().join(", "),
                profile.kafka.partitions
            );
        }
        TopicsAction::List => {
            println!("{:<40} {:>10}", "topic", "partitions");
            for t in topics.list()? {
                println!("{:<40} {:>10}", t.name, t.partitions);
            }
        }
    }
    Ok(())
}
