//! `payrecon reconcile` and `payrecon close`: the reconciliation and the month-close pack.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{CommandError, Outcome, thousands};
use crate::analytics::facts;
use crate::cli::{CloseArgs, ReconcileArgs};
use crate::durable::write_atomic;
use crate::lake::Lake;
use crate::model::catalogue::Catalogue;
use crate::model::schema;
use crate::reconcile::close::{self, Month};
use crate::reconcile::results::{
    amount_text, cutoff_text, exceptions_frame, write_csv, write_results, write_results_csv,
};
use crate::reconcile::{self, Options, Reconciliation, ResultRow, Severity, Status, load};
use crate::settings::{Config, Thresholds};

/// Which lake to reconcile, and how: what every command that reconciles resolves first.
#[derive(Debug, Clone)]
pub(super) struct ReconcileInput {
    pub(super) lake: PathBuf,
    pub(super) options: Options,
}

impl ReconcileInput {
    pub(super) fn resolve(
        config: &Config,
        cutoff: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Result<Self, CommandError> {
        Ok(ReconcileInput {
            lake: config.lake.clone(),
            options: options(config, cutoff)?,
        })
    }
}

/// `payrecon reconcile`, resolved once from its arguments and the configuration.
pub(super) struct ReconcileSettings {
    input: ReconcileInput,
    out: PathBuf,
    csv: bool,
    thresholds: Thresholds,
    split: Split,
}

/// How `payrecon reconcile` holds the lake.
#[derive(Debug, Clone, Copy)]
enum Split {
    /// In memory at once.
    Whole,
    /// In this many parts.
    Parts(usize),
    /// In as many parts as the lake needs to stay under this many bytes.
    Budget(u64),
}

impl ReconcileSettings {
    pub(super) fn resolve(config: &Config, args: &ReconcileArgs) -> Result<Self, CommandError> {
        Ok(ReconcileSettings {
            input: ReconcileInput::resolve(config, args.cutoff)?,
            out: args.out.clone(),
            csv: args.csv,
            thresholds: config.thresholds.clone(),
            split: match (config.reconcile.partitions, args.memory_budget_mb) {
                (_, Some(mib)) => Split::Budget(mib << 20),
                (Some(n), None) if n > 1 => Split::Parts(n as usize),
                (Some(_), None) => Split::Whole,
                (None, None) => match config.reconcile.memory_budget_mb {
                    Some(mib) => Split::Budget(mib << 20),
                    None => Split::Whole,
                },
            },
        })
    }
}

/// `payrecon close`, resolved once from its arguments and the configuration.
pub(super) struct CloseSettings {
    input: ReconcileInput,
    month: Month,
    out: PathBuf,
    thresholds: Thresholds,
}

impl CloseSettings {
    pub(super) fn resolve(config: &Config, args: &CloseArgs) -> Result<Self, CommandError> {
        let tz = config.tz().map_err(CommandError::Usage)?;
        let month = Month::parse(&args.month, tz).ok_or_else(|| {
            CommandError::Usage(format!("--month {:?} is not YYYY-MM", args.month))
        })?;
        Ok(CloseSettings {
            input: ReconcileInput::resolve(config, args.cutoff)?,
            month,
            out: args
                .out
                .clone()
                .unwrap_or_else(|| Path::new("reports").join(month.label())),
            thresholds: config.thresholds.clone(),
        })
    }
}

/// The reconciliation's options from `[reconcile]`, decided against `cutoff` when given.
pub(crate) fn options(
    config: &Config,
    cutoff: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Options, CommandError> {
    let r = &config.reconcile;
    let tolerance = (r.amount_tolerance * rust_decimal::Decimal::from(100))
        .trunc()
        .to_string()
        .parse::<i64>()
        .map_err(|_| CommandError::Usage("reconcile.amount_tolerance is too large".into()))?;
    let cutoff = cutoff.map(crate::model::time::to_micros);
    Ok(Options {
        settlement_lag_days: r.settlement_lag_days,
        deposit_lag_days: r.deposit_lag_days,
        fallback_window_days: r.fallback_window_days,
        tolerance,
        cutoff,
        latest: config.ingest.time_window()?.latest_us,
        amazon_pay_references: r
            .amazon_pay_references
            .iter()
            .map(|p| crate::reconcile::normalise_reference(p))
            .collect(),
    })
}

/// The attempt facts and the reconciliation of the lake named by the configuration, built side
/// by side. Both read `orders` and `charges`: those are read once (the union of their columns)
/// and shared.
pub(super) fn facts_and_reconciliation(
    input: &ReconcileInput,
    fact_options: &facts::FactOptions,
) -> Result<(facts::KeyedFacts, load::Inputs, Reconciliation), CommandError> {
    use crate::lake::columns::read_table;
    use crate::model::schema::{CHARGES, ORDERS};
    let start = Instant::now();
    let lake = Lake::read_only(&input.lake)?;
    let union = |a: &[&'static str], b: &[&'static str]| -> Vec<&'static str> {
        let mut v = a.to_vec();
        v.extend(b.iter().filter(|c| !a.contains(c)));
        v
    };
    let (orders, charges) = rayon::join(
        || {
            read_table(
                &lake,
                &ORDERS,
                &union(facts::ORDER_COLUMNS, load::ORDER_COLUMNS),
            )
        },
        || {
            read_table(
                &lake,
                &CHARGES,
                &union(facts::CHARGE_COLUMNS, load::CHARGE_COLUMNS),
            )
        },
    );
    let (orders, charges) = (orders?, charges?);
    tracing::debug!(
        elapsed_ms = start.elapsed().as_millis() as u64,
        "read orders and charges"
    );
    // The facts get their own handles on the same arrays (reference-counted, not copied).
    let (fact_orders, fact_charges) = (orders.clone(), charges.clone());
    let (built, reconciled) = rayon::join(
        || -> Result<facts::KeyedFacts, CommandError> {
            let f = facts::build_keyed_from_batches(
                fact_orders,
                fact_charges,
                Catalogue::embedded(),
                fact_options,
            )?;
            super::analytics::log_facts(&f.facts, start);
            Ok(f)
        },
        || -> Result<(load::Inputs, Reconciliation), CommandError> {
            let inputs = load::load_with(&lake, orders, charges)?;
            Ok(reconciled(inputs, &input.options, start))
        },
    );
    let (inputs, rec) = reconciled?;
    Ok((built?, inputs, rec))
}

/// Loads the lake and reconciles it.
pub(super) fn reconcile_lake(
    input: &ReconcileInput,
) -> Result<(load::Inputs, Reconciliation), CommandError> {
    let start = Instant::now();
    let lake = Lake::read_only(&input.lake)?;
    Ok(reconciled(load::load(&lake)?, &input.options, start))
}

/// Reconciles loaded inputs; logs the loading time (since `start`) and the matching time.
fn reconciled(
    inputs: load::Inputs,
    options: &Options,
    start: Instant,
) -> (load::Inputs, Reconciliation) {
    let loaded = start.elapsed();
    let rec = reconcile::reconcile(&inputs, options);
    tracing::debug!(
        load_ms = loaded.as_millis() as u64,
        match_ms = (start.elapsed() - loaded).as_millis() as u64,
        rows = rec.rows.len(),
        "reconciled"
    );
    (inputs, rec)
}

/// Counts per status and amounts at stake per currency, for the terminal.
/// `EUR 1,234.56`, `JPY 2,372`: an amount in lake units with its currency's digits.
pub(super) fn money_words(currency: crate::model::money::Currency, v: i64) -> String {
    let text = amount_text(v);
    let text = if currency.exponent() == 0 {
        text.split('.').next().unwrap_or(&text).to_string()
    } else {
        text
    };
    format!(
        "{} {}",
        currency.code(),
        crate::model::money::group_thousands(&text)
    )
}

/// What an exception puts at stake: its difference, else the amount on either side.
fn stake(r: &ResultRow) -> i64 {
    r.difference()
        .or(r.actual)
        .or(r.expected)
        .unwrap_or(0)
        .abs()
}

/// The exceptions a person should look at first: by severity, then amount at stake, then age.
pub(super) fn top_exceptions<'a>(
    rows: impl Iterator<Item = &'a ResultRow>,
    cutoff: i64,
    n: usize,
) -> Vec<String> {
    let mut v: Vec<&ResultRow> = rows.collect();
    v.sort_by(|a, b| {
        (a.status.severity(), std::cmp::Reverse(stake(a)))
            .cmp(&(b.status.severity(), std::cmp::Reverse(stake(b))))
            .then(b.age_days(cutoff).cmp(&a.age_days(cutoff)))
            .then(a.item_id.cmp(&b.item_id))
    });
    v.into_iter()
        .take(n)
        .map(|r| {
            format!(
                "{:<6} {} {}  {} ({}), {}, {}",
                r.status.severity().as_str(),
                r.item_type.as_str(),
                crate::printable::printable(&r.item_id, 80),
                r.status.as_str(),
                r.status.meaning(),
                money_words(r.currency, stake(r)),
                plural(r.age_days(cutoff) as u64, "day") + " old"
            )
        })
        .collect()
}

/// Exceptions shown by name under a summary.
pub(super) const TOP_EXCEPTIONS: usize = 5;

/// The reconciliation in words: per layer, each status with its count and meaning, then the
/// exceptions by severity, the amount at stake per currency and the first ones to look at.
fn summary(rec: &Reconciliation) -> String {
    let mut counts: BTreeMap<(u8, Status), u64> = BTreeMap::new();
    for r in &rec.rows {
        *counts.entry((r.layer, r.status)).or_default() += 1;
    }
    let exceptions: Vec<&ResultRow> = rec.exceptions().collect();
    summary_of(rec.cutoff, &counts, &exceptions)
}

/// [`summary`] from the rows counted per layer and status, and the exceptions in row order.
fn summary_of(
    cutoff: i64,
    counts: &BTreeMap<(u8, Status), u64>,
    exceptions: &[&ResultRow],
) -> String {
    // (rows, of which exceptions): the counterpart rows of a discrepancy carry its status
    // but are not exceptions of their own.
    let mut by_status: BTreeMap<(u8, Status), (u64, u64)> =
        counts.iter().map(|(&k, &n)| (k, (n, 0))).collect();
    let mut at_stake: BTreeMap<&str, (crate::model::money::Currency, u64, i64)> = BTreeMap::new();
    for r in exceptions {
        by_status.entry((r.layer, r.status)).or_default().1 += 1;
        let e = at_stake
            .entry(r.currency.code())
            .or_insert((r.currency, 0, 0));
        e.1 += 1;
        e.2 += stake(r);
    }
    let mut out = format!("reconciliation at {}\n", cutoff_text(cutoff));
    let mut layer = 0;
    for ((l, status), (n, exceptions)) in &by_status {
        if *l != layer {
            layer = *l;
            out.push_str(&format!("{layer}. {}\n", reconcile::layer_name(layer)));
        }
        let flag = if *exceptions == *n {
            format!("{} exception", status.severity().as_str())
        } else if *exceptions > 0 {
            format!(
                "{} {} (the other rows are counterparts)",
                status.severity().as_str(),
                plural(*exceptions, "exception")
            )
        } else if status.is_pending() {
            "pending".to_string()
        } else {
            "ok".to_string()
        };
        out.push_str(&format!(
            "   {:<24} {:>10}  {:<16} {}\n",
            status.as_str(),
            thousands(*n),
            flag,
            status.meaning()
        ));
    }
    let counts = severity_counts(exceptions.iter().copied());
    let total: u64 = counts.iter().sum();
    if total == 0 {
        out.push_str("no exceptions\n");
        return out;
    }
    out.push_str(&format!(
        "{} (high {}, medium {}, low {}); at stake: {}\n",
        plural(total, "exception"),
        thousands(counts[0]),
        thousands(counts[1]),
        thousands(counts[2]),
        at_stake
            .values()
            .map(|(c, n, a)| format!("{} in {}", money_words(*c, *a), plural(*n, "item")))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let top = top_exceptions(exceptions.iter().copied(), cutoff, TOP_EXCEPTIONS);
    out.push_str(&format!(
        "{}:\n",
        if total as usize > top.len() {
            format!("the first {} to look at", top.len())
        } else {
            "to look at".to_string()
        }
    ));
    for t in top {
        out.push_str(&format!("   {t}\n"));
    }
    out
}

/// Exceptions counted by severity: high, medium, low.
pub(super) fn severity_counts<'a>(rows: impl Iterator<Item = &'a ResultRow>) -> [u64; 3] {
    let mut counts = [0u64; 3];
    for r in rows {
        counts[r.status.severity() as usize] += 1;
    }
    counts
}

pub(super) fn outcome(thresholds: &Thresholds, rec: &Reconciliation) -> Outcome {
    exceptions_outcome(thresholds, severity_counts(rec.exceptions()))
}

/// [`outcome`] from the exceptions counted by severity.
pub(super) fn exceptions_outcome(thresholds: &Thresholds, counts: [u64; 3]) -> Outcome {
    if thresholds.exceeded(counts).is_empty() {
        Outcome::Clean
    } else {
        Outcome::Findings
    }
}

/// The closing lines of a summary about exceptions: whether they are findings (and why), and
/// where they are listed. None when there are none.
pub(super) fn exceptions_verdict(
    thresholds: &Thresholds,
    counts: [u64; 3],
    listed_in: &Path,
) -> Option<String> {
    let total: u64 = counts.iter().sum();
    if total == 0 {
        return None;
    }
    let why = thresholds.exceeded(counts);
    Some(if why.is_empty() {
        format!(
            "{} within the thresholds ({}); listed in {}",
            plural(total, "exception"),
            by_severity(counts),
            listed_in.display()
        )
    } else {
        format!(
            "findings: {}; listed in {}",
            why.join("; "),
            listed_in.display()
        )
    })
}

/// `1 high, 2 low`: the non-zero counts.
fn by_severity(counts: [u64; 3]) -> String {
    Severity::ALL
        .iter()
        .zip(counts)
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| format!("{} {}", thousands(n), s.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `1 exception`, `2 exceptions`.
pub(super) fn plural(n: u64, what: &str) -> String {
    format!("{} {what}{}", thousands(n), if n == 1 { "" } else { "s" })
}

/// The number of parts `split` asks for on this lake (1: in memory).
fn parts(split: Split, lake: &std::path::Path) -> Result<usize, CommandError> {
    Ok(match split {
        Split::Whole => 1,
        Split::Parts(n) => n.min(reconcile::partitioned::MAX_PARTS),
        Split::Budget(bytes) => {
            let lake = Lake::read_only(lake)?;
            let mut rows = 0;
            for t in [
                &schema::ORDERS,
                &schema::CHARGES,
                &schema::REFUNDS,
                &schema::SETTLEMENT_LINES,
                &schema::DEPOSITS,
            ] {
                rows += lake.table_stats(t)?.rows;
            }
            let least = reconcile::partitioned::least_budget(rows);
            if bytes < least {
                tracing::warn!(
                    "a memory budget of {} MB is below what reconciling {} rows in parts takes \
                     ({} MB: the keys pass holds every row's link keys); going on, it may take more",
                    bytes >> 20,
                    thousands(rows),
                    least.div_ceil(1 << 20)
                );
            }
            let parts = reconcile::partitioned::parts_for_budget(rows, bytes);
            tracing::info!(
                rows,
                parts,
                "reconciling in {parts} parts to stay within {} MB",
                bytes >> 20
            );
            parts
        }
    })
}

pub(super) fn run_reconcile(s: &ReconcileSettings) -> Result<Outcome, CommandError> {
    let parts = parts(s.split, &s.input.lake)?;
    if parts > 1 {
        return run_reconcile_in_parts(s, parts);
    }
    let progress = super::progress::Step::new("reconciling");
    let (_, rec) = reconcile_lake(&s.input)?;
    drop(progress);
    let progress = super::progress::Step::new("writing the results");
    let start = Instant::now();
    let exceptions = exceptions_frame(rec.exceptions(), rec.cutoff);
    write_csv(&exceptions, &s.out.join("exceptions.csv"))?;
    // Every file of the table written, a row group at a time.
    let wrote = write_results(&rec, &s.out, true)?;
    tracing::debug!(
        elapsed_ms = start.elapsed().as_millis() as u64,
        files = wrote.written.len(),
        "wrote exceptions.csv and the results"
    );
    if s.csv {
        write_results_csv(&rec, &s.out.join("results.csv"))?;
    }
    drop(progress);
    let text = summary(&rec);
    let counts = severity_counts(rec.exceptions());
    print!("{text}");
    println!("written to {}", s.out.display());
    if let Some(v) = exceptions_verdict(&s.thresholds, counts, &s.out.join("exceptions.csv")) {
        println!("{v}");
    }
    Ok(exceptions_outcome(&s.thresholds, counts))
}

/// `payrecon reconcile` in `parts` parts ([`reconcile::partitioned`]): the same files and
/// summary, with at most one part's rows in memory.
fn run_reconcile_in_parts(s: &ReconcileSettings, parts: usize) -> Result<Outcome, CommandError> {
    if s.csv {
        return Err(CommandError::Usage(
            "--csv needs the whole results table in memory; reconcile without a memory budget \
             (or read results/ with `payrecon query`)"
                .into(),
        ));
    }
    let progress = super::progress::Step::new(&format!("reconciling in {parts} parts"));
    let lake = Lake::read_only(&s.input.lake)?;
    let done = reconcile::partitioned::reconcile_in_parts(&lake, &s.input.options, parts, &s.out)?;
    drop(progress);
    let exceptions = exceptions_frame(done.exceptions.iter(), done.cutoff);
    write_csv(&exceptions, &s.out.join("exceptions.csv"))?;
    let rows: Vec<&ResultRow> = done.exceptions.iter().collect();
    print!("{}", summary_of(done.cutoff, &done.counts, &rows));
    println!("written to {}", s.out.display());
    let counts = severity_counts(done.exceptions.iter());
    if let Some(v) = exceptions_verdict(&s.thresholds, counts, &s.out.join("exceptions.csv")) {
        println!("{v}");
    }
    Ok(exceptions_outcome(&s.thresholds, counts))
}

/// The local days of `month`, first and last.
pub(super) fn month_local_days(month: Month, tz: chrono_tz::Tz) -> (i32, i32) {
    let day = |ts: i64| {
        crate::model::time::to_epoch_days(
            crate::model::time::from_micros(ts)
                .with_timezone(&tz)
                .date_naive(),
        )
    };
    (day(month.start), day(month.end - 1))
}

/// Whether anything is dated in `month`: an attempt, a settlement line or a bank line.
pub(super) fn month_has_data(
    inputs: &load::Inputs,
    facts: Option<&facts::Facts>,
    month: Month,
    tz: chrono_tz::Tz,
) -> bool {
    let (first, last) = month_local_days(month, tz);
    inputs.lines.iter().any(|l| month.contains(l.posted))
        || inputs
            .deposits
            .iter()
            .any(|d| d.booking >= first && d.booking <= last)
        || facts.is_some_and(|f| crate::analytics::attempts_between(f, first, last) > 0)
}

/// `; the lake has settlement lines from A to B and attempts from C to D` (what it has).
pub(super) fn lake_span(inputs: &load::Inputs, facts: Option<&facts::Facts>) -> String {
    let day = |ts: i64| crate::model::time::from_micros(ts).date_naive();
    let mut parts = Vec::new();
    let posted = inputs.lines.iter().map(|l| l.posted);
    if let (Some(a), Some(b)) = (posted.clone().min(), posted.max()) {
        parts.push(format!("settlement lines from {} to {}", day(a), day(b)));
    }
    if let Some((a, b)) = facts.and_then(crate::analytics::attempt_days) {
        parts.push(format!(
            "attempts from {} to {}",
            crate::model::time::from_epoch_days(a),
            crate::model::time::from_epoch_days(b)
        ));
    }
    if parts.is_empty() {
        "; the lake has no settlement lines".to_string()
    } else {
        format!("; the lake has {}", parts.join(" and "))
    }
}

pub(super) fn run_close(s: &CloseSettings) -> Result<Outcome, CommandError> {
    let month = s.month;
    let progress = super::progress::Step::new("reconciling");
    let (inputs, rec) = reconcile_lake(&s.input)?;
    let pack = close::close(&inputs, &rec, month);
    drop(progress);
    if pack.roll_forward.is_empty()
        && pack.in_transit.is_empty()
        && pack.exceptions.is_empty()
        && pack.payouts.is_empty()
    {
        return Err(CommandError::Usage(format!(
            "nothing to close in {}: no settlement line, capture or payout is dated in it or \
             before it{}",
            month.label(),
            lake_span(&inputs, None)
        )));
    }
    let out = &s.out;
    for (name, df) in crate::report::close::frames(&pack) {
        write_csv(
            &df,
            &out.join(format!("close-{}-{name}.csv", month.label())),
        )?;
    }
    let md = crate::report::close::markdown(&pack);
    write_atomic(
        &out.join(format!("close-{}.md", month.label())),
        md.as_bytes(),
    )?;
    print!("{md}");
    let ties = pack.ties();
    if !ties {
        tracing::error!("the month close does not tie (roll-forward or deposits in transit)");
        return Ok(Outcome::Findings);
    }
    Ok(outcome(&s.thresholds, &rec))
}
