//! `payrecon report` end to end: golden CSV and Markdown files, byte-identical reruns, the
//! workbook read back by an independent reader (calamine), and hostile text neutralised.
//!
//! Refresh the golden files after an intended change with:
//!
//! ```sh
//! PAYRECON_BLESS=1 cargo test --test report_e2e
//! ```

mod common;

use std::path::{Path, PathBuf};

use calamine::{Data, Reader, Xlsx, open_workbook};
use common::{generated_lake, payrecon};

const MONTH: &str = "2026-10";

fn report(dir: &Path, out: &str, extra: &[&str]) -> PathBuf {
    let output = payrecon(dir)
        .args(["--lake", "lake", "report", "--month", MONTH, "--out", out])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    dir.join(out).join(MONTH)
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/report-2026-10")
}

/// The fixed generated set of the golden files: 400 orders, seed 5, with the messy quirks.
fn golden_lake() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    generated_lake(tmp.path(), &["--orders", "400", "--seed", "5", "--messy"]);
    tmp
}

#[test]
fn golden_csv_and_markdown() {
    let tmp = golden_lake();
    let dir = report(tmp.path(), "reports", &[]);
    let golden = golden_dir();
    let bless = std::env::var_os("PAYRECON_BLESS").is_some();
    if bless {
        let _ = std::fs::remove_dir_all(&golden);
        std::fs::create_dir_all(&golden).unwrap();
    }
    let mut compared = 0;
    for path in files(&dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !(name.ends_with(".csv") || name.ends_with(".md")) {
            continue;
        }
        let got = std::fs::read_to_string(&path).unwrap();
        if bless {
            std::fs::write(golden.join(&name), &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(golden.join(&name)).unwrap_or_else(|_| {
            panic!("no golden file for {name}: run PAYRECON_BLESS=1 cargo test --test report_e2e")
        });
        assert!(
            got == want,
            "{name} differs from tests/golden/report-2026-10/{name}; if the change is intended, \
             run PAYRECON_BLESS=1 cargo test --test report_e2e"
        );
        compared += 1;
    }
    if !bless {
        assert_eq!(
            compared,
            files(&golden).len(),
            "a golden file has no output"
        );
        assert!(compared >= 16, "{compared} files compared");
    }
}

#[test]
fn same_lake_same_bytes_unless_now() {
    let tmp = golden_lake();
    let a = report(tmp.path(), "a", &[]);
    let b = report(tmp.path(), "b", &[]);
    let (fa, fb) = (files(&a), files(&b));
    assert_eq!(fa.len(), fb.len());
    for (x, y) in fa.iter().zip(&fb) {
        assert_eq!(x.file_name(), y.file_name());
        assert!(
            std::fs::read(x).unwrap() == std::fs::read(y).unwrap(),
            "{} differs between two runs",
            x.display()
        );
    }
    let names: Vec<String> = fa
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for want in ["approvals.html", "close-2026-10.xlsx", "summary.md"] {
        assert!(names.iter().any(|n| n == want), "{want} missing: {names:?}");
    }
    let html = std::fs::read_to_string(a.join("approvals.html")).unwrap();
    assert!(!html.contains("Generated"));
    let c = report(tmp.path(), "c", &["--now"]);
    let html = std::fs::read_to_string(c.join("approvals.html")).unwrap();
    assert!(html.contains("Generated 20"));
    assert!(
        std::fs::read_to_string(c.join("summary.md"))
            .unwrap()
            .contains("Generated 20")
    );
}

#[test]
fn html_is_self_contained() {
    let tmp = golden_lake();
    let dir = report(tmp.path(), "reports", &[]);
    let html = std::fs::read_to_string(dir.join("approvals.html")).unwrap();
    for banned in ["<script", "http://", "https://", "<link", "@import", "src="] {
        assert!(!html.contains(banned), "approvals.html contains {banned:?}");
    }
    for chart in [
        "country",
        "device",
        "value_band",
        "currency",
        "classes",
        "reasons",
        "trend",
        "volume",
        "trend-phone",
        "volume-phone",
    ] {
        assert!(html.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    // One bar per row of the country table, each with the overall rate's reference mark.
    let countries = std::fs::read_to_string(dir.join("approvals-by-country.csv"))
        .unwrap()
        .lines()
        .count()
        - 1;
    let start = html.find("data-chart=\"country\"").unwrap();
    let end = start + html[start..].find("data-chart=\"device\"").unwrap();
    let chart = &html[start..end];
    let bars = chart.matches("class=\"bar\"").count() + chart.matches("class=\"bar low\"").count();
    assert_eq!(bars, countries);
    assert_eq!(chart.matches("class=\"ref\"").count(), countries);
    // Every CSV the page links to is in the folder beside it.
    let mut links = 0;
    for part in html.split("class=\"csv\" href=\"").skip(1) {
        let href = &part[..part.find('"').unwrap()];
        assert!(dir.join(href).is_file(), "link to a missing {href}");
        links += 1;
    }
    assert!(links >= 10, "{links} CSV links");
    for section in [
        "Largest movers",
        "Decline reasons by week",
        "Approval rate by order value band",
    ] {
        assert!(html.contains(section), "{section}");
    }
}

fn csv_records(path: &Path) -> Vec<Vec<String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    r.records()
        .map(|rec| rec.unwrap().iter().map(str::to_string).collect())
        .collect()
}

fn cell_number(d: &Data) -> f64 {
    match d {
        Data::Float(f) => *f,
        Data::Int(i) => *i as f64,
        other => panic!("not a number: {other:?}"),
    }
}

#[test]
fn workbook_reads_back_and_equals_the_close_csv() {
    let tmp = golden_lake();
    let dir = report(tmp.path(), "reports", &[]);
    let mut wb: Xlsx<_> = open_workbook(dir.join("close-2026-10.xlsx")).unwrap();
    assert_eq!(
        wb.sheet_names(),
        [
            "Summary",
            "Exceptions",
            "In transit",
            "Settlements",
            "Payouts & deposits"
        ]
    );
    // Summary: figures × currencies; the roll-forward block's header is on row 6 and its rows
    // equal the CSV (transfers out shown as the negative they are to the balance).
    let summary = wb.worksheet_range("Summary").unwrap();
    let roll = csv_records(&dir.join("close-2026-10-rollforward.csv"));
    assert!(!roll.is_empty());
    assert_eq!(
        summary.get((5, 0)).unwrap().to_string(),
        "Amazon Pay balance roll-forward"
    );
    let codes: Vec<String> = (1..summary.width())
        .map(|c| summary.get((5, c)).unwrap().to_string())
        .take_while(|s| !s.is_empty())
        .collect();
    let order = [
        "opening_balance",
        "captures",
        "refunds",
        "chargebacks_and_claims",
        "adjustments",
        "fees",
        "arithmetic_differences",
        "transfers_out",
    ];
    for rec in &roll {
        let col = 1 + codes.iter().position(|c| *c == rec[0]).unwrap();
        let (row, sign) = match order.iter().position(|f| *f == rec[1]) {
            Some(7) => (6 + 7, -1.0),
            Some(i) => (6 + i, 1.0),
            None => {
                assert_eq!(rec[1], "closing_balance");
                (6 + 9, 1.0)
            }
        };
        // Stored as a number; equal to the exact CSV amount to the cent.
        let amount = sign * cell_number(summary.get((row, col)).unwrap());
        assert_eq!(format!("{amount:.2}"), rec[3], "{} {}", rec[0], rec[1]);
    }
    // The computed closing and the difference are formulas over the rows above.
    let formulas = wb.worksheet_formula("Summary").unwrap();
    assert_eq!(
        formulas.get_value((6 + 8, 1)).unwrap(),
        "ROUND(SUM(B7:B14),2)",
        "computed closing"
    );
    assert_eq!(formulas.get_value((6 + 10, 1)).unwrap(), "ROUND(B15-B16,2)");
    // The other sheets hold as many rows as their CSV tables (then a blank row and a totals
    // row per currency), numbers as numbers.
    for (sheet, csv_name, money_col, currency_col) in [
        ("Exceptions", "exceptions", "Expected amount", 3),
        ("In transit", "in_transit", "Amount", 1),
        ("Settlements", "settlements", "Captures", 2),
        ("Payouts & deposits", "payouts", "Expected amount", 2),
    ] {
        let range = wb.worksheet_range(sheet).unwrap();
        let recs = csv_records(&dir.join(format!("close-2026-10-{csv_name}.csv")));
        let currencies: std::collections::BTreeSet<&str> =
            recs.iter().map(|r| r[currency_col].as_str()).collect();
        let totals = if recs.is_empty() {
            0
        } else {
            1 + currencies.len()
        };
        assert_eq!(range.height(), recs.len() + 1 + totals, "{sheet}");
        let col = (0..range.width())
            .find(|&c| matches!(range.get((0, c)), Some(Data::String(s)) if s == money_col))
            .unwrap();
        for r in 1..range.height() {
            match range.get((r, col)).unwrap() {
                Data::Float(_) | Data::Empty => {}
                other => panic!("{sheet} row {r}: {other:?} is not a number"),
            }
        }
        if let Some(Data::String(s)) = range.get((recs.len() + 2, 0)) {
            assert!(s.starts_with("Total ("), "{sheet}: {s}");
        }
    }
    // No formulas but the Summary's own.
    for sheet in wb.sheet_names() {
        let f = wb.worksheet_formula(&sheet).unwrap();
        assert!(
            f.used_cells()
                .all(|(_, _, s)| s.is_empty() || (sheet == "Summary" && s.starts_with("ROUND("))),
            "{sheet} has formulas"
        );
    }
}

fn replace_in(dir: &Path, prefix: &str, from: &str, to: &str) -> usize {
    let mut n = 0;
    for path in files(dir) {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if !name.starts_with(prefix) {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        if text.contains(from) {
            n += text.matches(from).count();
            std::fs::write(&path, text.replace(from, to)).unwrap();
        }
    }
    n
}

#[test]
fn hostile_text_is_neutralised_everywhere() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let store = r#"=HYPERLINK("http://evil.example/x","click")"#;
    payrecon(d)
        .args(["generate", "--orders", "200", "--seed", "5", "--out", "in"])
        .args(["--store", store])
        .assert()
        .success();
    let input = d.join("in");
    // A device name that is markup, bank references that are formulas, and an order id that is
    // one (an order with no charge: an `order_not_captured` exception).
    assert!(
        replace_in(
            &input,
            "orders-",
            ",tablet,",
            ",<img src=x onerror=alert(1)>,"
        ) > 0
    );
    assert_eq!(
        replace_in(
            &input,
            "bank-",
            "AMAZON PAYMENTS INC 5044005002",
            "-1+1 AMAZON PAYMENTS INC 5044005002"
        ),
        1
    );
    assert_eq!(
        replace_in(
            &input,
            "bank-",
            "AMAZON PAYMENTS EUROPE S.C.A. 5044005004",
            "@SUM(A1:A9) 5044005004"
        ),
        1
    );
    std::fs::write(
        input.join("orders-hostile.csv"),
        "order_id,created_at,country,device,order_total,currency,status,charge_permission_id\n\
         \"=1+2\",2026-10-10T10:00:00Z,DE,desktop,10.00,EUR,placed,\n\
         \"+cmd|' /C calc'!A0\",2026-10-11T10:00:00Z,DE,desktop,12.00,EUR,placed,\n",
    )
    .unwrap();
    let out = payrecon(d)
        .args(["ingest", "--lake", "lake", "--no-progress", "in"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dir = report(d, "reports", &[]);

    // CSV: no field starts like a formula unless it is a number; the hostile values are there,
    // neutralised.
    let mut seen = String::new();
    for path in files(&dir) {
        if path.extension().is_none_or(|e| e != "csv") {
            continue;
        }
        for rec in csv_records(&path) {
            for field in rec {
                if crate_formula_like(&field) {
                    assert!(
                        field.parse::<f64>().is_ok(),
                        "{}: {field:?} would run as a formula",
                        path.display()
                    );
                }
                seen.push_str(&field);
                seen.push('\n');
            }
        }
    }
    for want in [
        "'=HYPERLINK(",
        "'=1+2",
        "'+cmd|",
        "'-1+1 AMAZON",
        "'@SUM(A1:A9)",
    ] {
        assert!(seen.contains(want), "{want} not found in the CSV files");
    }

    // Workbook: the text is kept as text with Excel's quote prefix; no formulas but the
    // Summary's own sums.
    let path = dir.join("close-2026-10.xlsx");
    let mut wb: Xlsx<_> = open_workbook(&path).unwrap();
    let mut strings = Vec::new();
    for sheet in wb.sheet_names() {
        let f = wb.worksheet_formula(&sheet).unwrap();
        assert!(
            f.used_cells()
                .all(|(_, _, s)| s.is_empty() || (sheet == "Summary" && s.starts_with("ROUND("))),
            "{sheet}"
        );
        for (_, _, v) in wb.worksheet_range(&sheet).unwrap().used_cells() {
            if let Data::String(s) = v {
                strings.push(s.clone());
            }
        }
    }
    for want in [store, "=1+2", "-1+1 AMAZON PAYMENTS INC 5044005002"] {
        assert!(
            strings.iter().any(|s| s.contains(want)),
            "{want} not in the workbook"
        );
    }
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&path).unwrap()).unwrap();
    let mut styles = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/styles.xml").unwrap(), &mut styles).unwrap();
    assert!(styles.contains("quotePrefix=\"1\""));

    // HTML: markup from the data is escaped.
    let html = std::fs::read_to_string(dir.join("approvals.html")).unwrap();
    assert!(!html.contains("<img"));
    assert!(html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

fn crate_formula_like(s: &str) -> bool {
    payrecon::export::is_formula_like(s)
}
