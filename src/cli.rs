//! Command-line types (clap only; the doc comments are the help text).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// payrecon: Amazon Pay settlement ingest, decline analytics and month-close reconciliation.
///
/// Drop Amazon Pay settlement reports, charge and refund exports, order records and bank
/// statements into a folder; payrecon recognises each file by its header and loads it into a
/// typed Parquet lake that any engine can read.
#[derive(Debug, Parser)]
#[command(
    name = "payrecon",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Configuration file [default: ./payrecon.toml when present].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Lake folder (overrides `lake` in the configuration) [default: ./lake].
    #[arg(long, global = true, value_name = "DIR")]
    pub lake: Option<PathBuf>,
    /// More log output (-v: debug, -vv: trace). RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on standard error.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Log line format on standard error.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,
    /// Colour in log lines: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The nightly pipeline: ingest the inbox, archive it, reconcile, write every month's reports
    /// (default inbox: ./sample-data); one summary line; exit 0 ok, 1 findings, 2 error.
    Run(RunArgs),
    /// Download the finished Amazon Pay reports (settlement reports by default) into the inbox
    /// with the Reports API; none twice (`[amazon_pay]` in payrecon.toml holds the key).
    Fetch(FetchArgs),
    /// Load source files (or folders of them) into the lake.
    Ingest(IngestArgs),
    /// Write a realistic synthetic data set in all five input formats.
    Generate(GenerateArgs),
    /// Print the Amazon Pay status and reason-code catalogue with decline classes.
    Codes(CodesArgs),
    /// Print the lake's table schemas.
    Schema(SchemaArgs),
    /// Run SQL over the lake's tables (a query, or the path of a .sql file); `reason_codes` is the
    /// catalogue, and `results` the reconciliation's results in the reports folder, once written.
    Query(QueryArgs),
    /// Approval rates by segment: attempt, amount-weighted, first-attempt and eventual, with
    /// 95 % Wilson intervals.
    Approvals(ReportArgs),
    /// Declined attempts by reason code and decline class, with the catalogue's advice.
    Declines(ReportArgs),
    /// Recovery of orders by the reason code of their first decline.
    Recovery(ReportArgs),
    /// Approval-rate changes against the previous period, significant drops first.
    Changes(ChangesArgs),
    /// Match orders, charges, refunds, settlement lines, payouts and bank deposits; list and age
    /// the exceptions.
    Reconcile(ReconcileArgs),
    /// Write the month-close pack: balance roll-forward, in transit, open exceptions, ledger.
    Close(CloseArgs),
    /// Write a month's reports: approvals.html, the close workbook (.xlsx), their tables as CSV
    /// and a Markdown summary, into DIR/YYYY-MM/.
    Report(ReportCmdArgs),
    /// Write a commented payrecon.toml with every setting at its default (it loads as is).
    Init(InitArgs),
    /// Print the shell completion script for SHELL (e.g. `payrecon completions bash >
    /// ~/.local/share/bash-completion/completions/payrecon`).
    Completions(CompletionsArgs),
    /// Write the manual pages (payrecon.1 and payrecon-COMMAND.1) into DIR, or print
    /// payrecon.1 (e.g. `payrecon man | man -l -`).
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// The file to write [default: the --config path, else ./payrecon.toml].
    #[arg(value_name = "FILE")]
    pub path: Option<PathBuf>,
    /// Overwrite the file when it exists.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write every page into [default: print payrecon.1 to standard output].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ReportCmdArgs {
    /// The calendar month to report, in the configured time zone [default: the month of the
    /// newest attempt in the lake].
    #[arg(long, value_name = "YYYY-MM")]
    pub month: Option<String>,
    /// Reports folder; files go to DIR/YYYY-MM/ [default: `reports` in the configuration].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Decide pending reconciliation statuses against this instant [default: the newest
    /// timestamp in the lake].
    #[arg(long, value_name = "TIMESTAMP", value_parser = timestamp)]
    pub cutoff: Option<chrono::DateTime<chrono::Utc>>,
    /// Print the generation time in the reports (otherwise the same lake gives the same bytes).
    #[arg(long)]
    pub now: bool,
}

#[derive(Debug, Args)]
pub struct ReconcileArgs {
    /// Decide pending statuses against this instant (ISO 8601) [default: the newest timestamp in
    /// the lake].
    #[arg(long, value_name = "TIMESTAMP", value_parser = timestamp)]
    pub cutoff: Option<chrono::DateTime<chrono::Utc>>,
    /// Output folder for results.parquet and exceptions.csv.
    #[arg(long, value_name = "DIR", default_value = "reports/reconcile")]
    pub out: PathBuf,
    /// Also write the results table as results.csv.
    #[arg(long)]
    pub csv: bool,
    /// Memory the reconciliation may take, in MB (MiB): a larger lake is reconciled in parts, one at
    /// a time, with the same results [default: `[reconcile] memory_budget_mb`, else unbounded].
    #[arg(long, value_name = "MB", value_parser = clap::value_parser!(u64).range(64..))]
    pub memory_budget_mb: Option<u64>,
}

#[derive(Debug, Args)]
pub struct CloseArgs {
    /// The calendar month to close, in the configured time zone.
    #[arg(long, value_name = "YYYY-MM")]
    pub month: String,
    /// Decide pending statuses against this instant [default: the newest timestamp in the lake].
    #[arg(long, value_name = "TIMESTAMP", value_parser = timestamp)]
    pub cutoff: Option<chrono::DateTime<chrono::Utc>>,
    /// Output folder [default: reports/YYYY-MM].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Where and how a result table is written.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Output format [default: table on a terminal, else csv].
    #[arg(long, value_enum)]
    pub format: Option<QueryFormat>,
    /// Write to this file instead of standard output (required for parquet).
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Only these columns, in this order (a comma list; any format) [default: on a terminal a
    /// compact set that fits its width; otherwise every column].
    #[arg(
        long,
        value_name = "COLS",
        value_delimiter = ',',
        conflicts_with = "all"
    )]
    pub columns: Option<Vec<String>>,
    /// Every column on a terminal too, and text uncut (lines may wrap).
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Group by these dimensions, a comma list of: country, device, value_band, currency,
    /// reason_code, decline_class, day, week, month (days in the configured time zone)
    /// [default: none, one row for everything].
    #[arg(
        long,
        value_name = "DIMS",
        default_value = "",
        hide_default_value = true
    )]
    pub by: String,
    /// First day included (YYYY-MM-DD, local): attempts made and orders first tried from then.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day included (YYYY-MM-DD, local).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Flag cells whose denominator is below N as low volume [default: analytics.min_n = 30].
    #[arg(long, value_name = "N")]
    pub min_n: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// Compare this period with the one before it.
    #[arg(long, value_enum, default_value_t = PeriodArg::Day)]
    pub period: PeriodArg,
    /// A day in the period to test (YYYY-MM-DD) [default: the last complete period].
    #[arg(long, value_name = "DATE")]
    pub at: Option<String>,
    /// Cells: a comma list of dimensions, as for `approvals` [default: country,device].
    #[arg(long, value_name = "DIMS", default_value = "country,device")]
    pub by: String,
    /// False discovery rate of the Benjamini–Hochberg correction [default: analytics.fdr = 0.05].
    #[arg(long, value_name = "RATE")]
    pub fdr: Option<f64>,
    /// Flag cells with fewer decided attempts than N in either period [default: analytics.min_n].
    #[arg(long, value_name = "N")]
    pub min_n: Option<u64>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeriodArg {
    Day,
    Week,
    Month,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Folder of new input files [default: sample-data, whose files are never moved].
    #[arg(long, value_name = "DIR")]
    pub inbox: Option<PathBuf>,
    /// Where processed files are moved, one folder per run (named by its start, UTC)
    /// [default: `archive` beside the inbox].
    #[arg(long, value_name = "DIR")]
    pub archive: Option<PathBuf>,
    /// Leave processed files in the inbox (already-ingested content is skipped anyway).
    #[arg(long)]
    pub keep: bool,
    /// Reports folder [default: `reports` in the configuration].
    #[arg(long, value_name = "DIR")]
    pub reports: Option<PathBuf>,
    /// Decide pending reconciliation statuses against this instant [default: the newest
    /// timestamp in the lake].
    #[arg(long, value_name = "TIMESTAMP", value_parser = timestamp)]
    pub cutoff: Option<chrono::DateTime<chrono::Utc>>,
    /// Rebuild the lake from the archive (night by night) and the inbox, and rewrite every
    /// report, instead of loading only what is new.
    #[arg(long)]
    pub full: bool,
    /// Wait for a run in progress instead of exiting with an error.
    #[arg(long)]
    pub wait: bool,
    /// Say what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Fetch the new Amazon Pay reports into the inbox first (`payrecon fetch`; needs --inbox).
    #[arg(long)]
    pub fetch: bool,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Reports created from this date or instant (UTC) [default: where the last fetch ended;
    /// the first time, 30 days ago].
    #[arg(long, value_name = "DATE", value_parser = instant)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Reports created before this date or instant (UTC) [default: now].
    #[arg(long, value_name = "DATE", value_parser = instant)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Folder the reports are written to.
    #[arg(long, value_name = "DIR", default_value = "inbox")]
    pub inbox: PathBuf,
    /// Report types, comma-separated [default: `[amazon_pay] report_types`, the settlement
    /// report].
    #[arg(long, value_name = "TYPE,...", value_delimiter = ',')]
    pub types: Vec<String>,
    /// List what would be downloaded; download nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `2026-11-01` (midnight UTC) or a timestamp.
/// An ISO 8601 instant (`2027-06-30T00:00:00Z`), parsed once where the argument is read.
fn timestamp(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    crate::model::time::parse_timestamp(text).map_err(|e| e.to_string())
}

fn instant(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    if let Ok(d) = crate::model::time::parse_date(text) {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight").and_utc());
    }
    crate::model::time::parse_timestamp(text).map_err(|e| e.to_string())
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files or folders to ingest (folders are read recursively, in file-name order).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Wait for another process holding the lake's lock instead of failing.
    #[arg(long)]
    pub wait: bool,
    /// Never draw a progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Number of orders to create.
    #[arg(long, default_value_t = 5000)]
    pub orders: u64,
    /// Random seed: the same seed gives the same files, byte for byte.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Month the orders are placed in (activity runs a few days past its end).
    #[arg(long, value_name = "YYYY-MM", default_value = "2026-10")]
    pub month: String,
    /// Spread the orders over this many months from --month on.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=24))]
    pub months: u32,
    /// Output folder (created; existing generated files are overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Add real-world quirks: BOM, CRLF, grouping commas, a report downloaded twice, bad rows.
    #[arg(long)]
    pub messy: bool,
    /// Seller store name on settlement lines.
    #[arg(long, default_value = "Example Store")]
    pub store: String,
    /// Format of the bank statement files (`bank-DAY.*`): payrecon's CSV, ISO 20022
    /// camt.053, SWIFT MT940 or BAI2; the same lines and ids in every format.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = BankFormatArg::Csv)]
    pub bank_format: BankFormatArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BankFormatArg {
    Csv,
    Camt053,
    Mt940,
    Bai2,
}

#[derive(Debug, Args)]
pub struct CodesArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = CodesFormat::Table)]
    pub format: CodesFormat,
    /// Build the catalogue from a status-page text file instead of the embedded one.
    #[arg(long, value_name = "FILE")]
    pub seed: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CodesFormat {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// SQL text, or the path of a .sql file (e.g. queries/approval_by_country_device.sql).
    #[arg(value_name = "SQL|FILE")]
    pub query: String,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Table,
    Csv,
    /// An array of row objects; exact decimals as strings.
    Json,
    /// A Markdown table.
    Md,
    Parquet,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the Markdown documentation (docs/SCHEMA.md).
    #[arg(long)]
    pub markdown: bool,
}
