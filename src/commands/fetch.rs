//! `payrecon fetch`: settings for the Reports API client from `[amazon_pay]`, the environment
//! and the arguments; a summary of what arrived.

use std::path::Path;

use super::{CommandError, Outcome, thousands};
use crate::cli::FetchArgs;
use crate::fetch::{self, FetchSettings, FetchSummary};
use crate::settings::Config;

/// The ledger's folder, beside the lake (`lake.fetch`: it outlives a `run --full` swap of the
/// lake folder, and the lake need not exist yet).
fn state_dir(lake: &Path) -> std::path::PathBuf {
    let mut name = lake.file_name().unwrap_or_default().to_os_string();
    name.push(".fetch");
    lake.with_file_name(name)
}

/// Resolves a fetch's settings once.
pub(super) fn settings(
    config: &Config,
    inbox: &Path,
    args: Option<&FetchArgs>,
) -> Result<FetchSettings, CommandError> {
    let ap = config.amazon_pay.with_env();
    let types = match args {
        Some(a) if !a.types.is_empty() => a.types.clone(),
        _ => ap.report_types.clone(),
    };
    if let (Some(Some(since)), Some(Some(until))) = (args.map(|a| a.since), args.map(|a| a.until))
        && since >= until
    {
        return Err(CommandError::Usage(format!(
            "--since {} is not before --until {}",
            since.format("%Y-%m-%dT%H:%M:%SZ"),
            until.format("%Y-%m-%dT%H:%M:%SZ")
        )));
    }
    Ok(FetchSettings {
        base_url: ap.base_url().map_err(CommandError::Usage)?,
        public_key_id: ap.public_key_id,
        private_key: ap.private_key,
        region: ap.region,
        sandbox: ap.sandbox,
        types,
        since: args.and_then(|a| a.since),
        until: args.and_then(|a| a.until),
        inbox: inbox.to_path_buf(),
        state_dir: state_dir(&config.lake),
        dry_run: args.is_some_and(|a| a.dry_run),
        max_retries: ap.max_retries,
        retry_initial: std::time::Duration::from_millis(ap.retry_initial_ms),
        now: crate::settings::now()?,
    })
}

pub(super) fn run(config: &Config, args: &FetchArgs) -> Result<Outcome, CommandError> {
    let s = settings(config, &args.inbox, Some(args))?;
    let summary = fetch::fetch(&s)?;
    print_summary(&summary, &s);
    Ok(Outcome::Clean)
}

/// `fetch: 2 reports (18,204 bytes) into inbox/, 5 fetched before, 1 still in progress`.
pub(super) fn print_summary(summary: &FetchSummary, s: &FetchSettings) {
    let bytes: u64 = summary.fetched.iter().map(|(_, b)| b).sum();
    let n = summary.fetched.len();
    let window = match (summary.since, summary.until) {
        (Some(a), Some(b)) => format!(
            " created {} to {}",
            a.format("%Y-%m-%d %H:%M"),
            b.format("%Y-%m-%d %H:%M UTC")
        ),
        _ => String::new(),
    };
    let what = if s.dry_run {
        format!("{n} report{} to download", if n == 1 { "" } else { "s" })
    } else {
        format!(
            "{n} report{} ({} bytes) into {}",
            if n == 1 { "" } else { "s" },
            thousands(bytes),
            s.inbox.display()
        )
    };
    let mut tail = Vec::new();
    if summary.already > 0 {
        tail.push(format!("{} fetched before", summary.already));
    }
    if summary.in_progress > 0 {
        tail.push(format!(
            "{} still in progress (the next fetch takes {})",
            summary.in_progress,
            if summary.in_progress == 1 {
                "it"
            } else {
                "them"
            }
        ));
    }
    if summary.not_made > 0 {
        tail.push(format!(
            "{} cancelled or failed by Amazon (cancelled: no data in the period)",
            summary.not_made
        ));
    }
    let tail = if tail.is_empty() {
        String::new()
    } else {
        format!("; {}", tail.join(", "))
    };
    println!("fetch{window}: {what}{tail}");
    for (name, b) in &summary.fetched {
        if s.dry_run {
            println!("  would download {name}");
        } else {
            println!("  {name} ({} bytes)", thousands(*b));
        }
    }
}
