//! `payrecon fetch`: the day's reports from the Amazon Pay Reports API into the inbox
//! (`spec/fetch.md`).
//!
//! Get Reports lists the reports created in the window (following `nextToken` pages); each
//! `COMPLETED` one not fetched before gets Get Report Document and its document is downloaded
//! at once (the URL is valid for seconds; an expired one is asked for again), written under a
//! hidden temporary name in the inbox, synced, and renamed to `TYPE-REPORTID.csv`. The
//! ledger beside the lake (`lake.fetch/reports.json`) records each report as it arrives, so a
//! re-run downloads nothing twice and a crash loses at most the report in flight, whose
//! temporary file the next fetch removes. Reports still in progress are remembered, so the
//! next window reaches back to them.

pub mod client;
pub mod ledger;
pub mod sign;

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;

use client::{Client, Endpoint, Retry};
use ledger::{Fetched, Ledger};

/// The report type fetched when none is configured.
pub const SETTLEMENT_REPORT: &str = "_GET_FLAT_FILE_OFFAMAZONPAYMENTS_SETTLEMENT_DATA_";
/// The first fetch's window, and the most any window reaches back (Amazon keeps 90 days).
const FIRST_WINDOW_DAYS: i64 = 30;
const RETENTION_DAYS: i64 = 90;
/// Times an expired document URL is asked for again.
const DOCUMENT_ATTEMPTS: u32 = 3;
/// Hidden prefix of a download in flight (folder walks skip names starting with `.`).
pub const PARTIAL_PREFIX: &str = ".payrecon-fetch-";

/// Errors of a fetch; each names the request or file and never quotes a secret.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("Amazon Pay is not set up: {0}")]
    Setup(String),
    #[error("private key {}: {source}", path.display())]
    Key {
        path: PathBuf,
        source: sign::KeyError,
    },
    #[error("{request}: HTTP {status}{}: {message}", if reason_code.is_empty() { String::new() } else { format!(" {reason_code}") })]
    Api {
        request: String,
        status: u16,
        reason_code: String,
        message: String,
    },
    #[error("{request}: {message}")]
    Http { request: String, message: String },
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Ledger { path: PathBuf, message: String },
    #[error("another `payrecon fetch` is running (it holds {})", path.display())]
    Busy { path: PathBuf },
}

impl FetchError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        FetchError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// Everything a fetch needs, resolved once from the arguments, `payrecon.toml` and the
/// environment.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub public_key_id: String,
    pub private_key: PathBuf,
    /// `https://pay-api.amazon.eu` or the configured endpoint.
    pub base_url: String,
    pub region: String,
    pub sandbox: bool,
    pub types: Vec<String>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub inbox: PathBuf,
    /// Where the ledger lives (`lake.fetch` beside the lake).
    pub state_dir: PathBuf,
    pub dry_run: bool,
    pub max_retries: u32,
    pub retry_initial: std::time::Duration,
    /// The clock (`PAYRECON_NOW` moves it).
    pub now: DateTime<Utc>,
}

impl FetchSettings {
    /// The environment in the path: none when the key id names it (`LIVE-…`, `SANDBOX-…`),
    /// as in the SDKs.
    fn env_prefix(&self) -> &'static str {
        let id = self.public_key_id.to_ascii_uppercase();
        if id.starts_with("LIVE") || id.starts_with("SANDBOX") {
            ""
        } else if self.sandbox {
            "/sandbox"
        } else {
            "/live"
        }
    }
}

/// The API host of a region (`na`, `eu`, `jp`; `us`, `uk`, `de` as the SDKs accept them).
pub fn region_host(region: &str) -> Option<&'static str> {
    match region.to_ascii_lowercase().as_str() {
        "na" | "us" => Some("pay-api.amazon.com"),
        "eu" | "uk" | "de" => Some("pay-api.amazon.eu"),
        "jp" => Some("pay-api.amazon.jp"),
        _ => None,
    }
}

/// A report as Get Reports lists it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub report_id: String,
    #[serde(default)]
    pub report_type: String,
    #[serde(default)]
    pub created_time: String,
    #[serde(default)]
    pub processing_status: String,
    #[serde(default)]
    pub report_document_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportList {
    #[serde(default)]
    reports: Vec<Report>,
    #[serde(default)]
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ReportDocument {
    url: String,
}

/// What a fetch did.
#[derive(Debug, Default)]
pub struct FetchSummary {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    /// Files written into the inbox (or, with `--dry-run`, that would be).
    pub fetched: Vec<(String, u64)>,
    /// Finished reports fetched before.
    pub already: u64,
    /// Reports still being made by Amazon (the next fetch takes them).
    pub in_progress: u64,
    /// Reports that failed or were cancelled (cancelled: no data in the period).
    pub not_made: u64,
    /// Pages of Get Reports read.
    pub pages: u64,
}

/// The inbox file name of a report: its type without the underscores around it, then its id.
pub fn file_name(report: &Report) -> String {
    let ty = report.report_type.trim_matches('_');
    let ty = if ty.is_empty() { "REPORT" } else { ty };
    let safe = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("{}-{}.csv", safe(ty), safe(&report.report_id))
}

fn api_date(t: DateTime<Utc>) -> String {
    t.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Runs a fetch.
pub fn fetch(s: &FetchSettings) -> Result<FetchSummary, FetchError> {
    if s.public_key_id.trim().is_empty() {
        return Err(FetchError::Setup(
            "no public key id: set `[amazon_pay] public_key_id` in payrecon.toml or \
             PAYRECON_AMAZON_PAY_PUBLIC_KEY_ID"
                .into(),
        ));
    }
    if s.private_key.as_os_str().is_empty() {
        return Err(FetchError::Setup(
            "no private key: set `[amazon_pay] private_key` (the PEM file's path) in \
             payrecon.toml or PAYRECON_AMAZON_PAY_PRIVATE_KEY"
                .into(),
        ));
    }
    let pem = std::fs::read(&s.private_key).map_err(|e| FetchError::io(&s.private_key, e))?;
    let signer = sign::Signer::from_pem(&pem).map_err(|source| FetchError::Key {
        path: s.private_key.clone(),
        source,
    })?;
    drop(pem);
    let url = reqwest::Url::parse(&s.base_url)
        .map_err(|e| FetchError::Setup(format!("endpoint {:?}: {e}", s.base_url)))?;
    let host = url
        .host_str()
        .ok_or_else(|| FetchError::Setup(format!("endpoint {:?} has no host", s.base_url)))?
        .to_string();
    let endpoint = Endpoint {
        base: s.base_url.trim_end_matches('/').to_string(),
        host,
        region: s.region.to_ascii_lowercase(),
        env_prefix: s.env_prefix(),
        public_key_id: s.public_key_id.clone(),
    };
    let client = Client::new(
        endpoint,
        signer,
        Retry {
            max_retries: s.max_retries,
            initial: s.retry_initial,
        },
    )?;
    let mut ledger = Ledger::open(&s.state_dir)?;
    if !s.dry_run {
        std::fs::create_dir_all(&s.inbox).map_err(|e| FetchError::io(&s.inbox, e))?;
        remove_partials(&s.inbox)?;
    }

    let until = s.until.unwrap_or(s.now);
    let oldest = s.now - Duration::days(RETENTION_DAYS);
    // The default window reaches back no further than Amazon keeps reports; one asked for
    // is sent as it is.
    let since = s.since.unwrap_or_else(|| {
        ledger
            .next_since()
            .unwrap_or(until - Duration::days(FIRST_WINDOW_DAYS))
            .max(oldest)
    });
    let mut summary = FetchSummary {
        since: Some(since),
        until: Some(until),
        ..FetchSummary::default()
    };
    let reports = list_reports(&client, s, since, until, &mut summary)?;
    let mut pending = Vec::new();
    for report in reports {
        match report.processing_status.as_str() {
            "COMPLETED" => {}
            "IN_PROGRESS" | "IN_QUEUE" => {
                summary.in_progress += 1;
                pending.push(report.created_time.clone());
                continue;
            }
            _ => {
                summary.not_made += 1;
                continue;
            }
        }
        if ledger.has(&report.report_id) {
            summary.already += 1;
            continue;
        }
        let Some(doc) = report.report_document_id.clone() else {
            summary.not_made += 1;
            continue;
        };
        let name = file_name(&report);
        if s.dry_run {
            summary.fetched.push((name, 0));
            continue;
        }
        let bytes = download(&client, &doc, &s.inbox, &name)?;
        ledger.record(
            &report.report_id,
            Fetched {
                report_type: report.report_type.clone(),
                document_id: doc,
                file: name.clone(),
                bytes,
                fetched_at: s.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            },
        )?;
        tracing::info!(report = %report.report_id, file = %name, bytes, "fetched");
        summary.fetched.push((name, bytes));
    }
    if !s.dry_run {
        ledger.finish_window(until, &pending, s.now)?;
    }
    Ok(summary)
}

/// Every report of the window, page by page (a next page is asked for with `nextToken` alone).
fn list_reports(
    client: &Client,
    s: &FetchSettings,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    summary: &mut FetchSummary,
) -> Result<Vec<Report>, FetchError> {
    let mut query = vec![
        ("reportTypes".to_string(), s.types.join(",")),
        ("createdSince".to_string(), api_date(since)),
        ("createdUntil".to_string(), api_date(until)),
    ];
    let mut out = Vec::new();
    loop {
        let page: ReportList = client.get_json("reports", &query)?;
        summary.pages += 1;
        out.extend(page.reports);
        match page.next_token.filter(|t| !t.is_empty()) {
            Some(token) if summary.pages < 10_000 => {
                query = vec![("nextToken".to_string(), token)];
            }
            _ => break,
        }
    }
    // Oldest first, so the inbox fills in the order Amazon made the reports.
    out.sort_by(|a, b| {
        (a.created_time.as_str(), a.report_id.as_str())
            .cmp(&(b.created_time.as_str(), b.report_id.as_str()))
    });
    out.dedup_by(|a, b| a.report_id == b.report_id);
    Ok(out)
}

/// Downloads a report document into the inbox under `name`: a hidden temporary file, synced,
/// then renamed. The document URL expires within seconds: a refused URL is asked for again.
fn download(
    client: &Client,
    document_id: &str,
    inbox: &Path,
    name: &str,
) -> Result<u64, FetchError> {
    let target = inbox.join(name);
    for _ in 0..DOCUMENT_ATTEMPTS {
        let doc: ReportDocument =
            client.get_json(&format!("report-documents/{document_id}"), &[])?;
        let tmp = tempfile::Builder::new()
            .prefix(PARTIAL_PREFIX)
            .suffix(".partial")
            .tempfile_in(inbox)
            .map_err(|e| FetchError::io(inbox, e))?;
        let mut w = std::io::BufWriter::new(tmp.as_file());
        let got = client.download(&doc.url, &mut w)?;
        w.flush().map_err(|e| FetchError::io(tmp.path(), e))?;
        drop(w);
        let Some(bytes) = got else {
            tracing::warn!(
                document = document_id,
                "the document URL was refused (expired); asking again"
            );
            continue;
        };
        tmp.as_file()
            .sync_all()
            .map_err(|e| FetchError::io(tmp.path(), e))?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o644))
            .map_err(|e| FetchError::io(tmp.path(), e))?;
        tmp.persist(&target)
            .map_err(|e| FetchError::io(&target, e.error))?;
        if let Ok(dir) = std::fs::File::open(inbox) {
            let _ = dir.sync_all();
        }
        return Ok(bytes);
    }
    Err(FetchError::Http {
        request: format!("GET report-documents/{document_id}"),
        message: format!("the document URL was refused {DOCUMENT_ATTEMPTS} times"),
    })
}

/// Removes downloads a killed fetch left behind.
fn remove_partials(inbox: &Path) -> Result<(), FetchError> {
    let entries = std::fs::read_dir(inbox).map_err(|e| FetchError::io(inbox, e))?;
    for entry in entries.flatten() {
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(PARTIAL_PREFIX) {
            let _ = std::fs::remove_file(entry.path());
            tracing::info!(file = %entry.path().display(), "removed an unfinished download");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inbox_names_drop_the_type_underscores() {
        let r = Report {
            report_id: "12345".into(),
            report_type: SETTLEMENT_REPORT.into(),
            created_time: String::new(),
            processing_status: "COMPLETED".into(),
            report_document_id: None,
        };
        assert_eq!(
            file_name(&r),
            "GET_FLAT_FILE_OFFAMAZONPAYMENTS_SETTLEMENT_DATA-12345.csv"
        );
        let odd = Report {
            report_id: "../x y".into(),
            ..r
        };
        assert!(!file_name(&odd).contains('/'));
    }

    #[test]
    fn the_key_id_decides_the_path_environment() {
        let mut s = FetchSettings {
            public_key_id: "LIVE-AB".into(),
            private_key: PathBuf::new(),
            base_url: String::new(),
            region: "eu".into(),
            sandbox: true,
            types: vec![],
            since: None,
            until: None,
            inbox: PathBuf::new(),
            state_dir: PathBuf::new(),
            dry_run: false,
            max_retries: 0,
            retry_initial: std::time::Duration::ZERO,
            now: Utc::now(),
        };
        assert_eq!(s.env_prefix(), "");
        s.public_key_id = "AB".into();
        assert_eq!(s.env_prefix(), "/sandbox");
        s.sandbox = false;
        assert_eq!(s.env_prefix(), "/live");
    }
}
