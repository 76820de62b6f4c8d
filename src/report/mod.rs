//! Reports people read, for one calendar month: `approvals.html` for analysts (one
//! self-contained page with inline SVG charts), `close-YYYY-MM.xlsx` for accounting, and every
//! table behind them as CSV with a short Markdown summary.
//!
//! The tables are built once ([`Tables`]) from the analytics facts and the reconciliation; the
//! HTML, the workbook, the CSV files and the summary are all drawn from those same frames, so
//! they cannot disagree. Output is deterministic: the same lake gives the same bytes, unless a
//! generation time is asked for (`--now`).

mod bars;
pub mod cache;
pub mod close;
pub mod html;
mod svg;
pub mod xlsx;

use std::path::{Path, PathBuf};

use chrono::{Datelike, NaiveDate};
use polars::prelude::*;

use crate::analytics::facts::Facts;
use crate::analytics::{self, AnalyticsError};
use crate::durable::{DurableError, commit_staged, stage};
use crate::model::catalogue::Catalogue;
use crate::reconcile::close::{CloseIndex, ClosePack, Month, close_with};

/// Errors writing reports.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Analytics(#[from] AnalyticsError),
    #[error("writing {}: {source}", path.display())]
    Csv { path: PathBuf, source: PolarsError },
    #[error(transparent)]
    Durable(#[from] DurableError),
    #[error("{}: keeping the month tables: {source}", path.display())]
    Cache { path: PathBuf, source: PolarsError },
    #[error("{}: writing the workbook: {source}", path.display())]
    Workbook {
        path: PathBuf,
        source: rust_xlsxwriter::XlsxError,
    },
}

/// What a report is about and how it is labelled.
#[derive(Debug, Clone)]
pub struct ReportSettings {
    pub month: Month,
    /// The merchant's time zone name (local days), shown on the page.
    pub timezone: String,
    /// Cells with a smaller denominator are marked low volume.
    pub min_n: u64,
    /// False discovery rate of the changes table.
    pub fdr: f64,
    /// A generation time to print (`--now`); `None` keeps the output byte-for-byte reproducible.
    pub generated_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// The analytics tables of the month, and its days.
#[derive(Debug, Clone)]
pub struct Tables {
    pub frames: analytics::MonthTables,
    /// First and last local day of the month, and the newest day with data (if any).
    pub first_day: NaiveDate,
    pub last_day: NaiveDate,
    pub newest_day: Option<NaiveDate>,
}

impl std::ops::Deref for Tables {
    type Target = analytics::MonthTables;
    fn deref(&self) -> &analytics::MonthTables {
        &self.frames
    }
}

/// First and last day of `month`.
fn month_days(month: &Month) -> (NaiveDate, NaiveDate) {
    let first = NaiveDate::from_ymd_opt(month.year, month.month, 1).expect("a valid month");
    let last = first + chrono::Months::new(1) - chrono::Days::new(1);
    (first, last)
}

/// The month of the newest attempt in `facts`, if there is one.
pub fn newest_month(facts: &Facts) -> Option<String> {
    let d = crate::model::time::from_epoch_days(facts.newest_day?);
    Some(format!("{}-{:02}", d.year(), d.month()))
}

/// The month's first and last day, and its newest day with attempts (the lake's newest day,
/// when it falls in or after the month, clipped to the month's end; days since the epoch).
fn month_bounds(facts: &Facts, settings: &ReportSettings) -> (NaiveDate, NaiveDate, Option<i32>) {
    use crate::model::time::to_epoch_days;
    let (first, last) = month_days(&settings.month);
    let newest = facts
        .newest_day
        .filter(|&d| d >= to_epoch_days(first))
        .map(|d| d.min(to_epoch_days(last)));
    (first, last, newest)
}

/// Builds the month's analytics tables.
pub fn tables(
    facts: &Facts,
    catalogue: &Catalogue,
    settings: &ReportSettings,
) -> Result<Tables, ReportError> {
    use crate::model::time::{from_epoch_days, to_epoch_days};
    let (first, last, newest) = month_bounds(facts, settings);
    let t = analytics::month_tables(
        facts,
        catalogue,
        (to_epoch_days(first), to_epoch_days(last)),
        newest.unwrap_or(to_epoch_days(last)),
        settings.fdr,
        settings.min_n,
    )?;
    // The declines, without dimensions, come by count (most first), then reason code.
    Ok(Tables {
        frames: t,
        first_day: first,
        last_day: last,
        newest_day: newest.map(from_epoch_days),
    })
}

/// The files of one report, by name, in the order they are written.
fn csv_tables(t: &Tables) -> [(&'static str, &DataFrame); 11] {
    [
        ("approvals-summary", &t.headline),
        ("approvals-by-country", &t.by_country),
        ("approvals-by-device", &t.by_device),
        ("approvals-by-currency", &t.by_currency),
        ("approvals-by-day", &t.by_day),
        ("approvals-by-value-band", &t.by_value_band),
        ("approvals-by-week", &t.by_week),
        ("declines-by-reason", &t.declines),
        ("declines-by-week", &t.declines_by_week),
        ("changes-week", &t.changes),
        ("recovery-by-reason", &t.recovery),
    ]
}

/// A report file: its name in the month's folder and its bytes.
pub type ReportFile = (String, Vec<u8>);

/// The month's report files, by name, in the order they are written: `approvals.html`,
/// `close-YYYY-MM.xlsx`, the close pack's Markdown, `summary.md`, the analytics tables and the
/// close pack as CSV.
pub fn render(
    tables: &Tables,
    pack: &ClosePack,
    settings: &ReportSettings,
) -> Result<Vec<ReportFile>, ReportError> {
    let label = settings.month.label();
    let xlsx_name = format!("close-{label}.xlsx");
    let frames = close::frames(pack);
    // The workbook (most of a month's rendering) beside everything else.
    let (workbook, rest) = rayon::join(
        || xlsx::close_workbook(pack, &frames, settings, Path::new(&xlsx_name)),
        || -> Result<Vec<ReportFile>, ReportError> {
            let mut files = vec![
                (
                    "approvals.html".to_string(),
                    html::approvals_page(tables, settings).into_bytes(),
                ),
                (
                    format!("close-{label}.md"),
                    close::markdown(pack).into_bytes(),
                ),
                (
                    "summary.md".to_string(),
                    summary_markdown(tables, pack, settings).into_bytes(),
                ),
            ];
            for (name, df) in csv_tables(tables) {
                let name = format!("{name}.csv");
                let bytes = csv_bytes(df, Path::new(&name))?;
                files.push((name, bytes));
            }
            for (name, df) in &frames {
                let name = format!("close-{label}-{name}.csv");
                let bytes = csv_bytes(df, Path::new(&name))?;
                files.push((name, bytes));
            }
            Ok(files)
        },
    );
    let mut files = rest?;
    files.insert(1, (xlsx_name, workbook?));
    Ok(files)
}

impl ReportSettings {
    /// The settings of `month` from the configuration.
    pub fn new(
        month: Month,
        config: &crate::settings::Config,
        generated_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> ReportSettings {
        ReportSettings {
            month,
            timezone: config.timezone.clone(),
            min_n: config.analytics.min_n,
            fdr: config.analytics.fdr,
            generated_at,
        }
    }
}

/// One month's report rendered from the facts and the reconciliation: its files, and whether
/// every currency's roll-forward ties.
pub fn render_month(
    facts: &Facts,
    inputs: &crate::reconcile::load::Inputs,
    rec: &crate::reconcile::Reconciliation,
    settings: &ReportSettings,
) -> Result<(Vec<ReportFile>, bool), ReportError> {
    let ix = CloseIndex::new(inputs, rec);
    render_month_with(facts, &ix, settings)
}

/// [`render_month`] with the close pack's lookups (which hold the reconciliation's rows) built
/// once for several months.
pub fn render_month_with(
    facts: &Facts,
    ix: &CloseIndex,
    settings: &ReportSettings,
) -> Result<(Vec<ReportFile>, bool), ReportError> {
    render_month_using(facts, ix, settings, None).map(|(files, ties, _)| (files, ties))
}

/// [`render_month_with`] from the month's tables when they are known already (see
/// [`cache`]); returns the tables too.
pub fn render_month_using(
    facts: &Facts,
    ix: &CloseIndex,
    settings: &ReportSettings,
    known: Option<Tables>,
) -> Result<(Vec<ReportFile>, bool, Tables), ReportError> {
    let start = std::time::Instant::now();
    let (pack, tables) = rayon::join(
        || close_with(ix, settings.month),
        || match known {
            Some(t) => Ok(t),
            None => tables(facts, Catalogue::embedded(), settings),
        },
    );
    let tables = tables?;
    let built = start.elapsed();
    let ties = pack.ties();
    if !ties {
        tracing::error!(month = %settings.month.label(), "the month close does not tie (roll-forward or deposits in transit)");
    }
    let files = render(&tables, &pack, settings)?;
    tracing::debug!(
        month = %settings.month.label(),
        tables_and_pack_ms = built.as_millis() as u64,
        render_ms = (start.elapsed() - built).as_millis() as u64,
        "month report"
    );
    Ok((files, ties, tables))
}

/// What [`write_files`] did.
#[derive(Debug, Clone, Default)]
pub struct Written {
    pub written: Vec<PathBuf>,
    /// Files whose bytes were already on disk (left untouched, so their times say when they
    /// last changed).
    pub unchanged: Vec<PathBuf>,
}

/// Writes `files` into `dir` (created), each atomically (all synced at once before any is
/// renamed into place); with `only_changed`, a file whose current bytes are the same is left
/// alone.
pub fn write_files(
    dir: &Path,
    files: &[ReportFile],
    only_changed: bool,
) -> Result<Written, ReportError> {
    let mut out = Written::default();
    let mut staged = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        if only_changed && std::fs::read(&path).is_ok_and(|old| &old == bytes) {
            out.unchanged.push(path);
            continue;
        }
        staged.push(stage(&path, bytes)?);
        out.written.push(path);
    }
    // Synced together, then each renamed into place.
    commit_staged(staged)?;
    Ok(out)
}

/// A percentage with one decimal, or `n/a`.
pub fn pct(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{:.1} %", v * 100.0),
        None => "n/a".into(),
    }
}

/// Markdown table cell text: pipes and line breaks escaped.
fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// The short Markdown summary of the month.
pub fn summary_markdown(t: &Tables, pack: &ClosePack, settings: &ReportSettings) -> String {
    use crate::reconcile::results::amount_text;
    let h = Headline::of(&t.headline);
    let mut out = format!("# payrecon report {}\n\n", settings.month.label());
    out.push_str(&format!(
        "Local days {} to {} ({}){}.\n\n",
        t.first_day,
        t.last_day,
        settings.timezone,
        match t.newest_day {
            Some(d) => format!("; data up to {d}"),
            None => "; no attempts in this month".into(),
        }
    ));
    if let Some(at) = &settings.generated_at {
        out.push_str(&format!(
            "Generated {}.\n\n",
            crate::model::time::format_timestamp(*at)
        ));
    }
    out.push_str("## Approvals\n\n| rate | value | 95 % interval | n |\n|---|---:|---:|---:|\n");
    for (name, r) in [
        ("attempt approval", &h.attempt),
        ("first-attempt approval", &h.first),
        ("eventual approval", &h.eventual),
    ] {
        out.push_str(&format!(
            "| {name} | {} | {} | {} |\n",
            pct(r.rate),
            r.interval_text(),
            r.n
        ));
    }
    for (currency, rate) in amount_rates(t) {
        out.push_str(&format!(
            "| amount-weighted approval, {currency} | {} | | |\n",
            pct(rate)
        ));
    }
    out.push('\n');
    out.push_str(&format!(
        "{} attempts ({} approved, {} declined, {} pending) on {} orders.\n\n",
        h.attempts, h.approved, h.declined, h.pending, h.orders
    ));
    out.push_str("## Top decline reasons\n\n| reason code | class | declines | share of declines |\n|---|---|---:|---:|\n");
    let reasons = column_strs(&t.declines, "reason_code");
    let classes = column_strs(&t.declines, "decline_class");
    let counts = column_u64s(&t.declines, "declines");
    let shares = column_f64s(&t.declines, "share_of_declines");
    for i in 0..t.declines.height().min(5) {
        out.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            md_cell(reasons[i].as_deref().unwrap_or("(none)")),
            md_cell(classes[i].as_deref().unwrap_or("")),
            counts[i],
            pct(shares[i])
        ));
    }
    if t.declines.height() == 0 {
        out.push_str("| (no declines) | | 0 | |\n");
    }
    let significant = column_bools(&t.changes, "significant");
    let directions = column_strs(&t.changes, "direction");
    let drops = significant
        .iter()
        .zip(&directions)
        .filter(|(s, d)| **s && d.as_deref() == Some("drop"))
        .count();
    out.push_str(&format!(
        "\n## Changes\n\n{} cells tested week over week (country × device); {} significant \
         (false discovery rate {}), {} of them drops.\n\n",
        t.changes.height(),
        significant.iter().filter(|s| **s).count(),
        settings.fdr,
        drops
    ));
    out.push_str("## Month close\n\n| currency | opening | closing | ties | exceptions open |\n|---|---:|---:|---|---:|\n");
    for (c, r) in &pack.roll_forward {
        let open = pack
            .exceptions
            .iter()
            .filter(|e| e.currency.code() == *c)
            .count();
        out.push_str(&format!(
            "| {c} | {} | {} | {} | {open} |\n",
            amount_text(r.opening.0),
            amount_text(r.closing.0),
            if r.ties() { "yes" } else { "NO" }
        ));
    }
    if pack.roll_forward.is_empty() {
        out.push_str("| (no settlement activity) | | | | |\n");
    }
    out.push_str(&format!(
        "\nFiles: `approvals.html`, `close-{0}.xlsx`, `close-{0}.md`, and the tables as CSV.\n",
        settings.month.label()
    ));
    out
}

/// The amount-weighted approval rate per currency (defined within one currency only), most
/// attempts first.
pub fn amount_rates(t: &Tables) -> Vec<(String, Option<f64>)> {
    let c = column_strs(&t.by_currency, "currency");
    let r = column_f64s(&t.by_currency, "amount_approval_rate");
    let n = column_u64s(&t.by_currency, "attempts");
    let mut v: Vec<(u64, String, Option<f64>)> = (0..t.by_currency.height())
        .map(|i| (n[i], c[i].clone().unwrap_or_default(), r[i]))
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, c, r)| (c, r)).collect()
}

/// A rate with its interval and denominator.
#[derive(Debug, Clone, Default)]
pub struct Rate {
    pub rate: Option<f64>,
    pub lo: Option<f64>,
    pub hi: Option<f64>,
    pub n: u64,
}

impl Rate {
    pub fn interval_text(&self) -> String {
        match (self.lo, self.hi) {
            (Some(lo), Some(hi)) => format!("{:.1} – {:.1} %", lo * 100.0, hi * 100.0),
            _ => "n/a".into(),
        }
    }
}

/// The headline figures (first row of the `approvals` frame with no dimensions).
#[derive(Debug, Clone, Default)]
pub struct Headline {
    pub attempt: Rate,
    pub first: Rate,
    pub eventual: Rate,
    pub amount: Option<f64>,
    pub attempts: u64,
    pub approved: u64,
    pub declined: u64,
    pub pending: u64,
    pub orders: u64,
}

impl Headline {
    pub fn of(df: &DataFrame) -> Headline {
        let rates = rates(df, "approval_rate", "approved", "declined");
        let first = order_rates(df, "first_attempt_rate");
        let eventual = order_rates(df, "eventual_rate");
        let one = |name: &str| column_u64s(df, name).first().copied().unwrap_or(0);
        Headline {
            attempt: rates.into_iter().next().unwrap_or_default(),
            first: first.into_iter().next().unwrap_or_default(),
            eventual: eventual.into_iter().next().unwrap_or_default(),
            amount: column_f64s(df, "amount_approval_rate")
                .first()
                .copied()
                .flatten(),
            attempts: one("attempts"),
            approved: one("approved"),
            declined: one("declined"),
            pending: one("pending"),
            orders: one("orders"),
        }
    }
}

/// The attempt approval rate of each row, with interval and decided attempts.
pub fn rates(df: &DataFrame, name: &str, approved: &str, declined: &str) -> Vec<Rate> {
    let r = column_f64s(df, name);
    let lo = column_f64s(df, &format!("{name}_lo"));
    let hi = column_f64s(df, &format!("{name}_hi"));
    let a = column_u64s(df, approved);
    let d = column_u64s(df, declined);
    (0..df.height())
        .map(|i| Rate {
            rate: r[i],
            lo: lo[i],
            hi: hi[i],
            n: a[i] + d[i],
        })
        .collect()
}

/// An order rate of each row (`first_attempt_rate` or `eventual_rate`) over decided orders.
fn order_rates(df: &DataFrame, name: &str) -> Vec<Rate> {
    let r = column_f64s(df, name);
    let lo = column_f64s(df, &format!("{name}_lo"));
    let hi = column_f64s(df, &format!("{name}_hi"));
    let n = column_u64s(df, "decided_orders");
    (0..df.height())
        .map(|i| Rate {
            rate: r[i],
            lo: lo[i],
            hi: hi[i],
            n: n[i],
        })
        .collect()
}

/// A column as text (any type; nulls as `None`); missing columns give nulls.
pub fn column_strs(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    match df.column(name) {
        Ok(c) => (0..df.height())
            .map(|i| c.get(i).ok().and_then(|v| crate::query::cell_text(&v)))
            .collect(),
        Err(_) => vec![None; df.height()],
    }
}

/// A numeric column as `f64`.
pub fn column_f64s(df: &DataFrame, name: &str) -> Vec<Option<f64>> {
    match df.column(name).and_then(|c| c.cast(&DataType::Float64)) {
        Ok(c) => c.f64().expect("cast to f64").iter().collect(),
        Err(_) => vec![None; df.height()],
    }
}

/// A count column (nulls as 0).
pub fn column_u64s(df: &DataFrame, name: &str) -> Vec<u64> {
    match df.column(name).and_then(|c| c.cast(&DataType::UInt64)) {
        Ok(c) => c
            .u64()
            .expect("cast to u64")
            .iter()
            .map(|v| v.unwrap_or(0))
            .collect(),
        Err(_) => vec![0; df.height()],
    }
}

/// A boolean column (nulls as false).
pub fn column_bools(df: &DataFrame, name: &str) -> Vec<bool> {
    match df.column(name).and_then(|c| c.bool().cloned()) {
        Ok(c) => c.iter().map(|v| v.unwrap_or(false)).collect(),
        Err(_) => vec![false; df.height()],
    }
}

/// `df` as CSV bytes, with formula-like text neutralised ([`crate::export`]).
fn csv_bytes(df: &polars::prelude::DataFrame, path: &Path) -> Result<Vec<u8>, ReportError> {
    let mut out = Vec::new();
    crate::export::write_csv(df, &mut out, true).map_err(|source| ReportError::Csv {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(out)
}
