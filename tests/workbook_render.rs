//! The close workbook as an accountant sees it: rendered by LibreOffice headless to PDF and read
//! back as text (poppler's `pdftotext`). No cell shows `###`, every roll-forward, tie and ledger
//! figure and every in-transit amount is printed as formatted, and every page is landscape.
//!
//! Needs `soffice` and `pdftotext` (Debian: `libreoffice-calc-nogui`, `poppler-utils`); skipped
//! when they are missing unless `PAYRECON_REQUIRE_RENDER=1` (set by `.ci/run`, which installs
//! them).

mod common;

use std::path::Path;
use std::process::Command;

use common::{generated_lake, payrecon};

fn have(tool: &str, version_flag: &str) -> bool {
    Command::new(tool)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success())
}

fn tools_or_skip() -> bool {
    if have("soffice", "--version") && have("pdftotext", "-v") && have("pdfinfo", "-v") {
        return true;
    }
    assert!(
        std::env::var_os("PAYRECON_REQUIRE_RENDER").is_none(),
        "PAYRECON_REQUIRE_RENDER is set but soffice/pdftotext/pdfinfo are missing \
         (apt-get install libreoffice-calc-nogui poppler-utils)"
    );
    eprintln!("skipped: soffice or pdftotext missing");
    false
}

/// `amount` (CSV text, two decimals) as the workbook formats it in `currency`.
fn formatted(amount: &str, currency: &str) -> String {
    let neg = amount.starts_with('-');
    let a = amount.trim_start_matches('-');
    let (int, frac) = a.split_once('.').unwrap_or((a, ""));
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let digits = if matches!(currency, "JPY" | "KRW") {
        0
    } else {
        2
    };
    if digits > 0 {
        grouped.push('.');
        grouped.push_str(&format!("{frac:0<2}")[..2]);
    }
    if neg && grouped.chars().any(|c| c.is_ascii_digit() && c != '0') {
        format!("-{grouped}")
    } else {
        grouped
    }
}

fn negated(amount: &str) -> String {
    match amount.strip_prefix('-') {
        Some(a) => a.to_string(),
        None => format!("-{amount}"),
    }
}

fn records(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_path(path).unwrap();
    let header = r.headers().unwrap().iter().map(str::to_string).collect();
    let rows = r
        .records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect();
    (header, rows)
}

#[test]
fn libreoffice_prints_every_figure_without_hashes() {
    if !tools_or_skip() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    generated_lake(d, &["--orders", "400", "--seed", "5", "--messy"]);
    payrecon(d)
        .args([
            "--lake", "lake", "report", "--month", "2026-10", "--out", "reports",
        ])
        .assert()
        .code(predicates::ord::lt(2));
    let dir = d.join("reports/2026-10");
    let profile = format!("-env:UserInstallation=file://{}/lo-profile", d.display());
    let out = Command::new("soffice")
        .args([
            profile.as_str(),
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
        ])
        .arg(d.join("pdf"))
        .arg(dir.join("close-2026-10.xlsx"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let pdf = d.join("pdf/close-2026-10.pdf");
    let text = Command::new("pdftotext")
        .args(["-layout"])
        .arg(&pdf)
        .arg("-")
        .output()
        .unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(!text.contains("###"), "a cell shows ###:\n{text}");

    // Landscape, every page (pdfinfo -l prints each page's size).
    let info = Command::new("pdfinfo")
        .args(["-f", "1", "-l", "999"])
        .arg(&pdf)
        .output()
        .unwrap();
    let info = String::from_utf8(info.stdout).unwrap();
    let mut pages = 0;
    for line in info
        .lines()
        .filter(|l| l.starts_with("Page") && l.contains(" size:"))
    {
        let nums: Vec<f64> = line
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let (w, h) = (nums[nums.len() - 2], nums[nums.len() - 1]);
        assert!(w > h, "portrait page: {line}");
        pages += 1;
    }
    assert!(pages >= 1, "{info}");

    let tokens: std::collections::HashSet<&str> = text.split_whitespace().collect();
    let mut missing = Vec::new();
    let mut want = |figure: String, what: String| {
        if !tokens.contains(figure.as_str()) {
            missing.push(format!("{what}: {figure}"));
        }
    };
    let (_, roll) = records(&dir.join("close-2026-10-rollforward.csv"));
    for r in &roll {
        let amount = if r[1] == "transfers_out" {
            negated(&r[3])
        } else {
            r[3].clone()
        };
        want(formatted(&amount, &r[0]), format!("{} {}", r[0], r[1]));
    }
    let (header, ledger) = records(&dir.join("close-2026-10-ledger.csv"));
    for r in &ledger {
        for (name, v) in header.iter().zip(r).skip(1) {
            want(formatted(v, &r[0]), format!("ledger {} {name}", r[0]));
        }
    }
    let (_, transit) = records(&dir.join("close-2026-10-in_transit.csv"));
    assert!(!transit.is_empty());
    for r in &transit {
        want(formatted(&r[3], &r[1]), format!("in transit {}", r[2]));
    }
    assert!(missing.is_empty(), "not printed: {missing:?}\n{text}");
    for label in [
        "Amazon Pay balance roll-forward",
        "Deposits to the bank",
        "Difference (must be 0)",
        "Age at 2026-10-31 (days)",
        "Total (",
    ] {
        assert!(text.contains(label), "{label} not printed");
    }
}
