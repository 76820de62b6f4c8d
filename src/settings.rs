//! Settings: the optional `payrecon.toml`, resolved with command-line overrides.
//!
//! Every setting has a default, so payrecon runs with no file at all. A file is read from
//! `--config PATH`, else `./payrecon.toml` when present. Unknown keys and bad values are errors
//! that name the key.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::model::Currency;

/// The configuration file name looked for in the working directory.
pub const DEFAULT_CONFIG: &str = "payrecon.toml";

/// What `payrecon init` writes: every setting at its default, each with a comment. Tests keep
/// it equal to [`Config::default`] and naming every key.
pub const INIT_TEMPLATE: &str = include_str!("init.toml");

/// Errors resolving settings.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}: key `{key}`: {message}", path.display())]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Folder of the Parquet lake.
    pub lake: PathBuf,
    /// Folder the reports are written to (one subfolder per month).
    pub reports: PathBuf,
    /// The merchant's IANA time zone (local days, weeks, months; bank booking dates).
    pub timezone: String,
    pub orders: OrdersConfig,
    pub ingest: IngestConfig,
    pub value_bands: ValueBands,
    pub analytics: AnalyticsConfig,
    pub reconcile: ReconcileConfig,
    pub thresholds: Thresholds,
    pub bank: BankConfig,
    pub amazon_pay: AmazonPayConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            lake: PathBuf::from("lake"),
            reports: PathBuf::from("reports"),
            timezone: "UTC".into(),
            orders: OrdersConfig::default(),
            ingest: IngestConfig::default(),
            value_bands: ValueBands::default(),
            analytics: AnalyticsConfig::default(),
            reconcile: ReconcileConfig::default(),
            thresholds: Thresholds::default(),
            bank: BankConfig::default(),
            amazon_pay: AmazonPayConfig::default(),
        }
    }
}

/// `[amazon_pay]`: the Reports API client of `payrecon fetch` (`spec/fetch.md`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct AmazonPayConfig {
    /// `LIVE-…` or `SANDBOX-…` (or a legacy id, with `sandbox` saying which).
    pub public_key_id: String,
    /// Path of the PEM private key file (never the key itself).
    pub private_key: PathBuf,
    /// `na`, `eu` or `jp`: the API host of that region.
    pub region: String,
    /// Only used when the key id says neither LIVE nor SANDBOX.
    pub sandbox: bool,
    /// A base URL instead of the region's host (a proxy, a test server).
    pub endpoint: String,
    /// Report types fetched.
    pub report_types: Vec<String>,
    /// Retries of a throttled (429) or failed (5xx) request, with exponential back-off.
    pub max_retries: u32,
    /// The first back-off, in milliseconds (doubled each retry, with jitter).
    pub retry_initial_ms: u64,
}

impl Default for AmazonPayConfig {
    fn default() -> Self {
        AmazonPayConfig {
            public_key_id: String::new(),
            private_key: PathBuf::new(),
            region: "na".into(),
            sandbox: false,
            endpoint: String::new(),
            report_types: vec![crate::fetch::SETTLEMENT_REPORT.to_string()],
            max_retries: 5,
            retry_initial_ms: 1000,
        }
    }
}

/// Environment variables that override `[amazon_pay]` (a key from a secret store).
pub const ENV_PUBLIC_KEY_ID: &str = "PAYRECON_AMAZON_PAY_PUBLIC_KEY_ID";
pub const ENV_PRIVATE_KEY: &str = "PAYRECON_AMAZON_PAY_PRIVATE_KEY";

impl AmazonPayConfig {
    /// The configuration with the environment's overrides applied.
    pub fn with_env(&self) -> AmazonPayConfig {
        let mut c = self.clone();
        if let Some(v) = std::env::var_os(ENV_PUBLIC_KEY_ID).filter(|v| !v.is_empty()) {
            c.public_key_id = v.to_string_lossy().trim().to_string();
        }
        if let Some(v) = std::env::var_os(ENV_PRIVATE_KEY).filter(|v| !v.is_empty()) {
            c.private_key = PathBuf::from(v);
        }
        c
    }

    /// The API's base URL: the endpoint when set, else the region's host.
    pub fn base_url(&self) -> Result<String, String> {
        if !self.endpoint.trim().is_empty() {
            return Ok(self.endpoint.trim().trim_end_matches('/').to_string());
        }
        crate::fetch::region_host(&self.region)
            .map(|h| format!("https://{h}"))
            .ok_or_else(|| format!("{:?} is not a region (na, eu or jp)", self.region))
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrdersConfig {
    /// Header names of the OMS export, per field.
    pub columns: OrderColumns,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// MiB of parsed rows an ingest keeps in memory before spilling chunks to disk.
    pub memory_budget_mb: u64,
    /// Rows dated before this day (`YYYY-MM-DD`) are rejected as implausible.
    pub earliest_date: String,
    /// Rows dated more than this many days after the time of the run are rejected.
    pub future_tolerance_days: u32,
    /// The longest record (a CSV record or a JSON line) read, in bytes; a longer one is
    /// rejected with its line, and never held in memory whole.
    pub max_record_bytes: u64,
    /// Follow symbolic links in the inbox (loop-safe); by default they are skipped with a
    /// warning, since a link can point anywhere on the machine.
    pub follow_symlinks: bool,
}

/// The default [`IngestConfig::max_record_bytes`]: 1 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 1 << 20;

/// The environment variable that sets the clock of the plausible-time rule (an ISO 8601
/// instant), for tests and for replaying an old inbox as of the night it arrived.
pub const NOW_ENV: &str = "PAYRECON_NOW";

/// The run's clock: `PAYRECON_NOW` when set, else the system's.
pub fn now() -> Result<chrono::DateTime<chrono::Utc>, ConfigError> {
    match std::env::var(NOW_ENV) {
        Ok(text) => crate::model::time::parse_timestamp(&text).map_err(|e| ConfigError::Invalid {
            path: PathBuf::from(format!("${NOW_ENV}")),
            key: NOW_ENV.into(),
            message: e.to_string(),
        }),
        Err(_) => Ok(chrono::Utc::now()),
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            memory_budget_mb: 128,
            earliest_date: crate::model::time::DEFAULT_EARLIEST.to_string(),
            future_tolerance_days: crate::model::time::DEFAULT_FUTURE_DAYS,
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            follow_symlinks: false,
        }
    }
}

impl IngestConfig {
    /// The plausible-time window of a run at the clock of [`NOW_ENV`], else now.
    pub fn time_window(&self) -> Result<crate::model::time::TimeWindow, ConfigError> {
        let earliest = crate::model::time::parse_date(&self.earliest_date).map_err(|e| {
            ConfigError::Invalid {
                path: PathBuf::from(DEFAULT_CONFIG),
                key: "ingest.earliest_date".into(),
                message: e.to_string(),
            }
        })?;
        Ok(crate::model::time::TimeWindow::new(
            earliest,
            now()?,
            self.future_tolerance_days,
        ))
    }
}

/// Bank statement settings: the layouts of banks' own CSV exports (`spec/inputs.md` §5).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BankConfig {
    /// `[[bank.csv]]`: one entry per bank export layout.
    pub csv: Vec<BankCsvLayout>,
}

/// One bank's CSV export layout. A file is taken for it when every mapped header is in its
/// header row (after `skip_lines` preamble lines).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankCsvLayout {
    /// Used in messages and as the file's format.
    pub name: String,
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// `.` or `,`; the other of the two may then group digits.
    #[serde(default = "default_decimal")]
    pub decimal_separator: String,
    /// chrono strftime, e.g. `%d.%m.%Y`.
    #[serde(default = "default_date_format")]
    pub date_format: String,
    /// A WHATWG encoding label (a byte-order mark wins).
    #[serde(default = "default_encoding")]
    pub encoding: String,
    /// Lines before the header row.
    #[serde(default)]
    pub skip_lines: u32,
    /// The currency of exports without a currency column.
    #[serde(default)]
    pub currency: Option<String>,
    pub columns: BankCsvColumns,
}

fn default_delimiter() -> String {
    ",".into()
}
fn default_decimal() -> String {
    ".".into()
}
fn default_date_format() -> String {
    "%Y-%m-%d".into()
}
fn default_encoding() -> String {
    "utf-8".into()
}

/// Which headers of a bank's CSV export hold the deposit fields.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankCsvColumns {
    pub booking_date: String,
    /// One signed amount column ...
    #[serde(default)]
    pub amount: Option<String>,
    /// ... or money in and money out, both written positive.
    #[serde(default)]
    pub credit: Option<String>,
    #[serde(default)]
    pub debit: Option<String>,
    #[serde(default)]
    pub currency: Option<String>,
    /// One header or several, joined by a space.
    #[serde(default)]
    pub reference: OneOrMany,
    #[serde(default)]
    pub bank_transaction_id: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
}

/// A header name or a list of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    #[default]
    None,
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn names(&self) -> Vec<&str> {
        match self {
            OneOrMany::None => vec![],
            OneOrMany::One(s) => vec![s.as_str()],
            OneOrMany::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

impl BankCsvLayout {
    /// Every header the layout maps (all must be in a file's header row).
    pub fn headers(&self) -> Vec<&str> {
        let c = &self.columns;
        let mut v = vec![c.booking_date.as_str()];
        v.extend(
            [
                &c.amount,
                &c.credit,
                &c.debit,
                &c.currency,
                &c.bank_transaction_id,
                &c.account,
            ]
            .into_iter()
            .flatten()
            .map(String::as_str),
        );
        v.extend(c.reference.names());
        v
    }

    /// The delimiter byte.
    pub fn delimiter_byte(&self) -> u8 {
        self.delimiter.as_bytes().first().copied().unwrap_or(b',')
    }

    /// The decimal separator byte.
    pub fn decimal_byte(&self) -> u8 {
        if self.decimal_separator == "," {
            b','
        } else {
            b'.'
        }
    }

    /// The encoding (validated when the configuration was loaded).
    pub fn encoding(&self) -> &'static encoding_rs::Encoding {
        encoding_rs::Encoding::for_label(self.encoding.as_bytes()).unwrap_or(encoding_rs::UTF_8)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        let key = |k: &str| format!("bank.csv[{}].{k}", self.name);
        if self.delimiter.len() != 1 {
            return Err((
                key("delimiter"),
                format!("{:?} is not one ASCII character", self.delimiter),
            ));
        }
        if !matches!(self.decimal_separator.as_str(), "." | ",") {
            return Err((key("decimal_separator"), "must be \".\" or \",\"".into()));
        }
        if encoding_rs::Encoding::for_label(self.encoding.as_bytes()).is_none() {
            return Err((
                key("encoding"),
                format!(
                    "{:?} is not a WHATWG encoding label (e.g. \"windows-1252\")",
                    self.encoding
                ),
            ));
        }
        let probe = chrono::NaiveDate::from_ymd_opt(2026, 10, 31).expect("valid");
        let shown = probe.format(&self.date_format).to_string();
        if chrono::NaiveDate::parse_from_str(&shown, &self.date_format) != Ok(probe) {
            return Err((
                key("date_format"),
                format!("{:?} does not read back a date it writes", self.date_format),
            ));
        }
        let c = &self.columns;
        match (&c.amount, &c.credit, &c.debit) {
            (Some(_), None, None) | (None, Some(_), Some(_)) => {}
            _ => {
                return Err((
                    key("columns"),
                    "map either `amount`, or both `credit` and `debit`".into(),
                ));
            }
        }
        if c.currency.is_none() {
            match &self.currency {
                Some(cur) => {
                    cur.parse::<Currency>()
                        .map_err(|e| (key("currency"), e.to_string()))?;
                }
                None => {
                    return Err((
                        key("currency"),
                        "set `currency`, or map `columns.currency`".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Maps the order fields of `spec/inputs.md` onto an OMS export's header names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OrderColumns {
    pub order_id: String,
    pub created_at: String,
    pub country: String,
    pub device: String,
    pub order_total: String,
    pub currency: String,
    pub status: String,
    pub charge_permission_id: String,
}

impl Default for OrderColumns {
    fn default() -> Self {
        OrderColumns {
            order_id: "order_id".into(),
            created_at: "created_at".into(),
            country: "country".into(),
            device: "device".into(),
            order_total: "order_total".into(),
            currency: "currency".into(),
            status: "status".into(),
            charge_permission_id: "charge_permission_id".into(),
        }
    }
}

/// Order-value band edges, in major units.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ValueBands {
    /// Edges for every currency without its own list.
    pub edges: Vec<Decimal>,
    /// Per-currency edges, e.g. `JPY = [0, 2500, 5000, 10000, 25000, 50000]`.
    pub currency: BTreeMap<String, Vec<Decimal>>,
}

impl Default for ValueBands {
    fn default() -> Self {
        let edges: Vec<Decimal> = [0, 25, 50, 100, 250, 500]
            .into_iter()
            .map(Decimal::from)
            .collect();
        let jpy = edges.iter().map(|e| e * Decimal::from(100)).collect();
        ValueBands {
            edges,
            currency: BTreeMap::from([("JPY".to_string(), jpy)]),
        }
    }
}

impl ValueBands {
    /// The edges that apply to a currency.
    pub fn edges_for(&self, currency: &str) -> &[Decimal] {
        self.currency.get(currency).unwrap_or(&self.edges)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    /// Cells with a denominator below this are flagged `low_volume`.
    pub min_n: u64,
    /// Orders younger than this (hours) at the newest attempt are `immature`.
    pub retry_window_hours: u64,
    /// Benjamini–Hochberg false discovery rate for change detection.
    pub fdr: f64,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            min_n: 30,
            retry_window_hours: 72,
            fdr: 0.05,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconcileConfig {
    pub settlement_lag_days: u32,
    pub deposit_lag_days: u32,
    pub fallback_window_days: u32,
    /// Largest difference still treated as equal, in major units (decimal text).
    pub amount_tolerance: Decimal,
    /// A bank line names Amazon Pay when its reference contains one of these (ignoring case
    /// and runs of spaces); only such lines can be `unexpected_deposit`.
    pub amazon_pay_references: Vec<String>,
    /// Memory a full `payrecon reconcile` may take, in MiB: above the lake's estimated need it
    /// reconciles in parts, one at a time (unset: in memory, however large).
    pub memory_budget_mb: Option<u64>,
    /// Reconcile in exactly this many parts (overrides `memory_budget_mb`; 1: in memory).
    pub partitions: Option<u32>,
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            settlement_lag_days: 3,
            deposit_lag_days: 7,
            fallback_window_days: 2,
            amount_tolerance: Decimal::ZERO,
            amazon_pay_references: DEFAULT_AMAZON_PAY_REFERENCES.map(String::from).to_vec(),
            memory_budget_mb: None,
            partitions: None,
        }
    }
}

/// The default `[reconcile] amazon_pay_references` (`spec/inputs.md` §5).
pub const DEFAULT_AMAZON_PAY_REFERENCES: [&str; 2] = ["AMAZON PAY", "AMZN PAY"];

/// When a finished run exits 1 instead of 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    /// Rejected rows (plus unreadable files) tolerated by one ingest.
    pub max_rejected_rows: u64,
    /// High-severity exceptions tolerated (money missing or wrong).
    pub max_high: u64,
    /// Medium-severity exceptions tolerated (something to match by hand).
    pub max_medium: u64,
    /// Low-severity exceptions tolerated (lapsed authorizations); unlimited when absent.
    pub max_low: Option<u64>,
    /// Exceptions of every severity together tolerated; no limit when absent.
    pub max_exceptions: Option<u64>,
}

impl Thresholds {
    /// Why exceptions counted by severity (high, medium, low) are findings; empty when they
    /// are within every threshold.
    pub fn exceeded(&self, counts: [u64; 3]) -> Vec<String> {
        let mut out = Vec::new();
        let limits = [
            ("high", "max_high", Some(self.max_high)),
            ("medium", "max_medium", Some(self.max_medium)),
            ("low", "max_low", self.max_low),
        ];
        for ((what, key, limit), n) in limits.into_iter().zip(counts) {
            if let Some(limit) = limit
                && n > limit
            {
                out.push(format!(
                    "{n} {what}-severity exception{} (more than [thresholds] {key} = {limit})",
                    if n == 1 { "" } else { "s" }
                ));
            }
        }
        let total: u64 = counts.iter().sum();
        if let Some(limit) = self.max_exceptions
            && total > limit
        {
            out.push(format!(
                "{total} exceptions in all (more than [thresholds] max_exceptions = {limit})"
            ));
        }
        out
    }
}

impl Config {
    /// Loads `path`, or `./payrecon.toml` when `path` is `None` and the file exists, else defaults.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match path {
            Some(p) => p.to_path_buf(),
            None => {
                let p = PathBuf::from(DEFAULT_CONFIG);
                if !p.exists() {
                    return Ok(Config::default());
                }
                p
            }
        };
        let text = std::fs::read_to_string(&path).map_err(|e| ConfigError::Read {
            path: path.clone(),
            source: e,
        })?;
        Config::parse(&text, &path)
    }

    /// Parses and validates configuration text (`path` is only for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: path.to_path_buf(),
            message: e.to_string().trim_end().to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: &str, message: String| ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message,
        };
        self.tz().map_err(|m| invalid("timezone", m))?;
        crate::model::time::parse_date(&self.ingest.earliest_date)
            .map_err(|e| invalid("ingest.earliest_date", e.to_string()))?;
        if self.ingest.max_record_bytes < 1024 {
            return Err(invalid(
                "ingest.max_record_bytes",
                format!("{} is below 1024", self.ingest.max_record_bytes),
            ));
        }
        check_edges(&self.value_bands.edges).map_err(|m| invalid("value_bands.edges", m))?;
        for (cur, edges) in &self.value_bands.currency {
            cur.parse::<Currency>()
                .map_err(|e| invalid(&format!("value_bands.currency.{cur}"), e.to_string()))?;
            check_edges(edges).map_err(|m| invalid(&format!("value_bands.currency.{cur}"), m))?;
        }
        if !(self.analytics.fdr > 0.0 && self.analytics.fdr < 1.0) {
            return Err(invalid(
                "analytics.fdr",
                format!("{} is not between 0 and 1", self.analytics.fdr),
            ));
        }
        if self.reconcile.amount_tolerance.is_sign_negative() {
            return Err(invalid(
                "reconcile.amount_tolerance",
                "must not be negative".into(),
            ));
        }
        if self
            .reconcile
            .amazon_pay_references
            .iter()
            .any(|p| p.trim().is_empty())
        {
            return Err(invalid(
                "reconcile.amazon_pay_references",
                "a pattern must not be empty (it would name every line)".into(),
            ));
        }
        for layout in &self.bank.csv {
            layout.validate().map_err(|(k, m)| invalid(&k, m))?;
        }
        self.amazon_pay
            .base_url()
            .map_err(|m| invalid("amazon_pay.region", m))?;
        if self
            .amazon_pay
            .report_types
            .iter()
            .any(|t| t.trim().is_empty())
        {
            return Err(invalid(
                "amazon_pay.report_types",
                "a report type must not be empty".into(),
            ));
        }
        let cols = &self.orders.columns;
        for (key, value) in [
            ("order_id", &cols.order_id),
            ("created_at", &cols.created_at),
            ("country", &cols.country),
            ("device", &cols.device),
            ("order_total", &cols.order_total),
            ("currency", &cols.currency),
        ] {
            if value.trim().is_empty() {
                return Err(invalid(
                    &format!("orders.columns.{key}"),
                    "must name a header".into(),
                ));
            }
        }
        Ok(())
    }

    /// The merchant's time zone.
    pub fn tz(&self) -> Result<chrono_tz::Tz, String> {
        self.timezone.parse::<chrono_tz::Tz>().map_err(|_| {
            format!(
                "{:?} is not an IANA time zone (e.g. \"Europe/Berlin\")",
                self.timezone
            )
        })
    }
}

fn check_edges(edges: &[Decimal]) -> Result<(), String> {
    if edges.first() != Some(&Decimal::ZERO) {
        return Err("band edges must start at 0".into());
    }
    if edges.windows(2).any(|w| w[0] >= w[1]) {
        return Err("band edges must increase strictly".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_init_template_loads_as_the_defaults_and_names_every_key() {
        let got = parse(INIT_TEMPLATE).unwrap();
        let want = Config::default();
        assert_eq!(
            toml::to_string(&got).unwrap(),
            toml::to_string(&want).unwrap()
        );
        // Every key of the defaults appears in the template (commented or not).
        let value: toml::Value = toml::Value::try_from(&want).unwrap();
        fn keys(v: &toml::Value, out: &mut Vec<String>) {
            if let toml::Value::Table(t) = v {
                for (k, v) in t {
                    out.push(k.clone());
                    keys(v, out);
                }
            }
        }
        let mut all = Vec::new();
        keys(&value, &mut all);
        for k in ["max_low", "max_exceptions", "csv"] {
            all.push(k.to_string());
        }
        for k in all {
            assert!(INIT_TEMPLATE.contains(&k), "the init template lacks `{k}`");
        }
    }

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("payrecon.toml"))
    }

    #[test]
    fn empty_file_is_all_defaults() {
        let c = parse("").unwrap();
        assert_eq!(c.lake, PathBuf::from("lake"));
        assert_eq!(c.reconcile.settlement_lag_days, 3);
        assert_eq!(c.value_bands.edges_for("JPY")[1], Decimal::from(2500));
        assert_eq!(c.value_bands.edges_for("EUR")[5], Decimal::from(500));
    }

    #[test]
    fn full_file() {
        let c = parse(
            r#"
            lake = "/data/lake"
            timezone = "Europe/Berlin"
            [orders.columns]
            order_id = "Name"
            created_at = "Created at"
            [value_bands]
            edges = [0, 10, 100]
            [reconcile]
            amount_tolerance = "0.01"
            "#,
        )
        .unwrap();
        assert_eq!(c.orders.columns.order_id, "Name");
        assert_eq!(c.orders.columns.country, "country");
        assert_eq!(c.reconcile.amount_tolerance, Decimal::new(1, 2));
        assert_eq!(c.tz().unwrap(), chrono_tz::Europe::Berlin);
    }

    #[test]
    fn errors_name_the_key() {
        let e = parse("timezone = \"Mars/Base\"").unwrap_err().to_string();
        assert!(e.contains("key `timezone`"), "{e}");
        let e = parse("[reconcile]\nsettlement_lag = 3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("settlement_lag"), "{e}");
        let e = parse("[value_bands]\nedges = [0, 50, 25]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("value_bands.edges"), "{e}");
        let e = parse("[value_bands.currency]\nXYZ = [0, 1]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("value_bands.currency.XYZ"), "{e}");
        let e = parse("[analytics]\nmin_n = \"many\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("min_n"), "{e}");
    }
}
