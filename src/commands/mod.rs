//! Commands: resolve settings from the command line and the configuration file, run a stage,
//! print its summary, and map the outcome to an exit code (0 ok, 1 findings, 2 error).
//!
//! This layer and `cli` are the only ones that know about clap.

mod analytics;
mod codes;
mod fetch;
mod generate;
mod ingest;
mod init;
mod manual;
mod output;
mod progress;
mod query;
mod reconcile;
mod report;
mod run;
mod table;

use std::path::PathBuf;
use std::process::ExitCode;

use tracing_subscriber::EnvFilter;

use crate::cli::{Cli, ColorChoice, Command, GlobalArgs, LogFormat};
use crate::settings::{Config, ConfigError};

/// How a command that finished went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing needs attention: exit 0.
    Clean,
    /// Finished, with findings above the configured threshold: exit 1.
    Findings,
}

/// Any error a command reports (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Fetch(#[from] crate::fetch::FetchError),
    #[error(transparent)]
    Ingest(#[from] crate::ingest::IngestError),
    #[error(transparent)]
    Lake(#[from] crate::lake::LakeError),
    #[error(transparent)]
    Generate(#[from] crate::generate::GenerateError),
    #[error(transparent)]
    Catalogue(#[from] crate::model::catalogue::CatalogueError),
    #[error(transparent)]
    Query(#[from] crate::query::QueryError),
    #[error(transparent)]
    Analytics(#[from] crate::analytics::AnalyticsError),
    #[error(transparent)]
    Reconcile(#[from] crate::reconcile::ReconcileError),
    #[error(transparent)]
    Report(#[from] crate::report::ReportError),
    #[error(transparent)]
    Durable(#[from] crate::durable::DurableError),
    #[error(transparent)]
    State(#[from] crate::state::StateError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Usage(String),
}

/// Runs the command line; returns the process exit code.
pub fn main(cli: Cli) -> ExitCode {
    init_logging(&cli.global);
    let json_logs = cli.global.log_format == LogFormat::Json;
    let red = colour(cli.global.color);
    progress::enable(
        !cli.global.quiet && !json_logs && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    );
    match dispatch(cli) {
        Ok(Outcome::Clean) => ExitCode::SUCCESS,
        Ok(Outcome::Findings) => ExitCode::from(1),
        // Once on standard error: as a JSON event for a log collector, else as text.
        Err(e) if json_logs => {
            tracing::error!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            // Bold red `error:` as cargo and ripgrep print it, when colour is on.
            let label = if red {
                "\x1b[1;31merror\x1b[0m"
            } else {
                "error"
            };
            eprintln!("{label}: {e}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<Outcome, CommandError> {
    match cli.command {
        Command::Codes(args) => codes::run(&args),
        Command::Schema(args) => {
            if args.markdown {
                print!("{}", crate::model::schema::schema_markdown());
            } else {
                for t in crate::model::schema::TABLES {
                    println!("{}", t.name);
                    for c in t.all_columns() {
                        println!(
                            "  {:<28} {:?}{}",
                            c.name,
                            c.ty,
                            if c.nullable { "" } else { " not null" }
                        );
                    }
                }
            }
            Ok(Outcome::Clean)
        }
        Command::Generate(args) => generate::run(&args),
        Command::Fetch(args) => {
            let config = resolve(&cli.global)?;
            fetch::run(&config, &args)
        }
        Command::Ingest(args) => {
            let config = resolve(&cli.global)?;
            ingest::run(&config, &args)
        }
        Command::Query(args) => {
            let config = resolve(&cli.global)?;
            query::run(&config, &args)
        }
        Command::Approvals(args) => {
            let config = resolve(&cli.global)?;
            analytics::run_report(&config, &args, analytics::Report::Approvals)
        }
        Command::Declines(args) => {
            let config = resolve(&cli.global)?;
            analytics::run_report(&config, &args, analytics::Report::Declines)
        }
        Command::Recovery(args) => {
            let config = resolve(&cli.global)?;
            analytics::run_report(&config, &args, analytics::Report::Recovery)
        }
        Command::Changes(args) => {
            let config = resolve(&cli.global)?;
            analytics::run_changes(&config, &args)
        }
        Command::Reconcile(args) => {
            let config = resolve(&cli.global)?;
            reconcile::run_reconcile(&reconcile::ReconcileSettings::resolve(&config, &args)?)
        }
        Command::Close(args) => {
            let config = resolve(&cli.global)?;
            reconcile::run_close(&reconcile::CloseSettings::resolve(&config, &args)?)
        }
        Command::Report(args) => {
            let config = resolve(&cli.global)?;
            report::run(&report::ReportCmdSettings::resolve(&config, &args)?)
        }
        Command::Run(args) => {
            let config = resolve(&cli.global)?;
            run::run(&config, &args)
        }
        Command::Init(args) => init::run(&args, cli.global.config.as_deref()),
        Command::Completions(args) => manual::completions(&args),
        Command::Man(args) => manual::man(&args),
    }
}

/// The configuration file, with command-line overrides applied.
fn resolve(global: &GlobalArgs) -> Result<Config, CommandError> {
    let mut config = Config::load(global.config.as_deref())?;
    if let Some(lake) = &global.lake {
        config.lake = lake.clone();
    }
    Ok(config)
}

fn init_logging(global: &GlobalArgs) {
    let default = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "info",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("payrecon={default},warn")));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(global.color));
    let _ = match global.log_format {
        LogFormat::Json => builder.json().with_current_span(false).try_init(),
        LogFormat::Human => builder.with_target(false).try_init(),
    };
}

/// Whether standard error gets colour: `NO_COLOR` (non-empty, see no-color.org) turns `auto`
/// off, as does a standard error that is not a terminal.
fn colour(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::IsTerminal::is_terminal(&std::io::stderr())
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: u64) -> String {
    crate::model::money::group_thousands(&n.to_string())
}
