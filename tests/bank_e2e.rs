//! Bank statements as banks give them (issue 22): banks' own CSV exports read by the
//! `[[bank.csv]]` layouts of `payrecon.toml`, one quirk per fixture, exact rows.

mod common;

use std::path::Path;

use common::{fixture, get, payrecon, project, rows};
use payrecon::model::schema::{DEPOSITS, FILES};

fn ingest(dir: &Path, config: &Path, files: &[&Path]) -> std::process::Output {
    payrecon(dir)
        .arg("--config")
        .arg(config)
        .arg("ingest")
        .args(files)
        .output()
        .unwrap()
}

fn deposits(dir: &Path) -> Vec<Vec<String>> {
    let mut v = project(
        &rows(&dir.join("lake"), &DEPOSITS),
        &[
            "booking_date",
            "amount",
            "currency",
            "reference",
            "account",
            "source_line",
        ],
    );
    v.sort_by(|a, b| a[5].parse::<u32>().unwrap().cmp(&b[5].parse().unwrap()));
    v
}

#[test]
fn a_windows_1252_export_with_a_preamble_and_decimal_commas() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("bank/sparkasse");
    let file = dir.join("umsatz-2026-10.csv");
    let out = ingest(tmp.path(), &dir.join("payrecon.toml"), &[&file]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let acct = "DE44500105175407324931";
    let want: Vec<Vec<String>> = [
        [
            "2026-10-05",
            "1258.28",
            "EUR",
            "AMAZON PAYMENTS EUROPE S.C.A. 5044042006 Amazon Payments Europe S.C.A.",
            acct,
            "4",
        ],
        [
            "2026-10-05",
            "-84.10",
            "EUR",
            "AWS EMEA Rechnung EUINGB26-123456 Amazon Web Services EMEA SARL",
            acct,
            "5",
        ],
        [
            "2026-10-06",
            "12.00",
            "EUR",
            "Rückzahlung Müller GmbH Müller GmbH",
            acct,
            "6",
        ],
        ["2026-10-06", "-9.90", "EUR", "Kontoführung", acct, "7"],
        ["2026-10-06", "-9.90", "EUR", "Kontoführung", acct, "8"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(deposits(tmp.path()), want);
    let files = rows(&tmp.path().join("lake"), &FILES);
    assert_eq!(get(&files[0], "format"), Some("bank-csv"));
    // Derived ids: two identical lines of one statement stay two.
    let ids: std::collections::BTreeSet<String> = rows(&tmp.path().join("lake"), &DEPOSITS)
        .iter()
        .map(|r| get(r, "bank_transaction_id").unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 5);
    assert!(
        ids.iter()
            .all(|i| i.len() == 16 && i.bytes().all(|b| b.is_ascii_hexdigit()))
    );

    // The same statement downloaded again, and one that overlaps it, add only what is new.
    let again = tmp.path().join("again.csv");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes.extend_from_slice(b"\r\n");
    std::fs::write(&again, &bytes).unwrap();
    let out = ingest(tmp.path(), &dir.join("payrecon.toml"), &[&again]);
    assert!(out.status.success());
    assert_eq!(rows(&tmp.path().join("lake"), &DEPOSITS).len(), 5);
    let files = rows(&tmp.path().join("lake"), &FILES);
    assert_eq!(get(&files[1], "rows_duplicate"), Some("5"), "{files:?}");
}

#[test]
fn credit_and_debit_columns_and_trailing_delimiters() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("bank/capital-one");
    let out = ingest(
        tmp.path(),
        &dir.join("payrecon.toml"),
        &[&dir.join("transactions.csv")],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let want: Vec<Vec<String>> = [
        [
            "2026-10-05",
            "2943.45",
            "USD",
            "AMAZON PAYMENTS INC 5044042001",
            "4111",
            "2",
        ],
        [
            "2026-10-05",
            "-312.08",
            "USD",
            "AMAZON WEB SERVICES AWS.AMAZON.CO",
            "4111",
            "3",
        ],
        [
            "2026-10-06",
            "-19.99",
            "USD",
            "AMZN Mktp US*2K4LP0",
            "4111",
            "4",
        ],
        ["2026-10-06", "150.00", "USD", "STRIPE PAYOUT", "4111", "5"],
    ]
    .iter()
    .map(|r| r.iter().map(|s| s.to_string()).collect())
    .collect();
    assert_eq!(deposits(tmp.path()), want);
}

#[test]
fn bad_bank_lines_are_rejected_with_line_and_column_and_layouts_are_validated() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("bank/capital-one");
    let file = tmp.path().join("bad.csv");
    std::fs::write(
        &file,
        "Transaction Date,Posted Date,Card No.,Description,Category,Debit,Credit\n\
         2026-10-04,04/10/2026,4111,A,B,1.00,\n\
         2026-10-04,2026-10-05,4111,A,B,,\n\
         2026-10-04,2026-10-05,4111,A,B,1.00,2.00\n\
         2026-10-04,2026-10-05,4111,A,B,1.0x,\n",
    )
    .unwrap();
    let out = ingest(tmp.path(), &dir.join("payrecon.toml"), &[&file]);
    assert_eq!(out.status.code(), Some(1));
    let r = project(
        &rows(&tmp.path().join("lake"), &payrecon::model::schema::REJECTS),
        &["source_line", "column"],
    );
    assert_eq!(
        r,
        [
            ["2", "Posted Date"],
            ["3", "Credit"],
            ["4", "Debit"],
            ["5", "Debit"]
        ]
        .map(|r| r.map(String::from).to_vec())
    );
    // A layout that maps neither an amount nor credit and debit names its key.
    std::fs::write(
        tmp.path().join("bad.toml"),
        "[[bank.csv]]\nname = \"x\"\ncurrency = \"USD\"\n[bank.csv.columns]\nbooking_date = \"D\"\n",
    )
    .unwrap();
    let out = ingest(tmp.path(), &tmp.path().join("bad.toml"), &[&file]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bank.csv[x].columns"), "{err}");
}
