//! Bank statements as banks give them (issue 22): banks' own CSV exports read by the
//! `[[bank.csv]]` layouts of `payrecon.toml`, one quirk per fixture, exact rows.

mod common;

use std::path::Path;

use common::{fixture, get, payrecon, project, rows};
use payrecon::model::schema::{BANK_PENDING, DEPOSITS, FILES};

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

// --- Statement formats: camt.05x, MT940/MT942, BAI2 (no configuration needed) ---

/// Ingests `files` with no configuration; asserts success and gives standard output.
fn ingest_ok(dir: &Path, files: &[&Path]) -> String {
    let out = payrecon(dir).arg("ingest").args(files).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A table's rows as (id, booking date, amount, currency, reference, account, statement,
/// line), in line order.
fn lines(dir: &Path, table: &'static payrecon::model::schema::TableDef) -> Vec<Vec<String>> {
    let mut v = project(
        &rows(&dir.join("lake"), table),
        &[
            "bank_transaction_id",
            "booking_date",
            "amount",
            "currency",
            "reference",
            "account",
            "statement_id",
            "source_line",
        ],
    );
    v.sort_by_key(|r| r[7].parse::<u32>().unwrap());
    v
}

fn table(rows: &[[&str; 8]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

fn format_of(dir: &Path) -> String {
    let files = rows(&dir.join("lake"), &FILES);
    get(files.last().unwrap(), "format").unwrap().to_string()
}

fn is_derived(id: &str) -> bool {
    id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// `got` equals `want`, where a `derived` id in `want` stands for any derived id (a hash:
/// its value is checked where it matters).
fn mask_derived_as(mut got: Vec<Vec<String>>, want: &[Vec<String>]) -> Vec<Vec<String>> {
    for (g, w) in got.iter_mut().zip(want) {
        if w[0] == "derived" && is_derived(&g[0]) {
            g[0] = "derived".into();
        }
    }
    got
}

fn assert_lines(got: Vec<Vec<String>>, want: Vec<Vec<String>>) {
    assert_eq!(mask_derived_as(got, &want), want);
}

#[test]
fn camt053_version_02_entry_ids_entities_and_identical_lines() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture("bank/camt/camt053-v02.xml");
    let out = ingest_ok(tmp.path(), &[&file]);
    assert!(!out.contains("does not add up"), "{out}");
    assert_eq!(format_of(tmp.path()), "camt");
    let (acct, stmt) = ("DE44500105175407324931", "0352C5320261005210000");
    let got = lines(tmp.path(), &DEPOSITS);
    assert_lines(
        got.clone(),
        table(&[
            [
                "2026100512345678",
                "2026-10-05",
                "1258.28",
                "EUR",
                "AMAZON PAYMENTS EUROPE S.C.A. 5044042006 GUTSCHR. UEBERW.",
                acct,
                stmt,
                "30",
            ],
            // No AcctSvcrRef: the entry's NtryRef is its id.
            [
                "AWS-EUINGB26-123456",
                "2026-10-05",
                "-84.10",
                "EUR",
                "AWS EMEA Rechnung EUINGB26-123456 Amazon Web Services EMEA SARL & Co FOLGELASTSCHRIFT",
                acct,
                stmt,
                "49",
            ],
            [
                "derived",
                "2026-10-05",
                "-5.00",
                "EUR",
                "Kontoführung",
                acct,
                stmt,
                "65",
            ],
            [
                "derived",
                "2026-10-05",
                "-5.00",
                "EUR",
                "Kontoführung",
                acct,
                stmt,
                "72",
            ],
        ]),
    );
    // Two identical lines of one statement keep two ids, each as the spec derives it.
    assert_ne!(got[2][0], got[3][0]);
    let derive = |n: u32| {
        payrecon::ingest::rows::derived_bank_id(
            acct,
            chrono::NaiveDate::from_ymd_opt(2026, 10, 5).unwrap(),
            -500,
            payrecon::model::Currency::EUR,
            "Kontoführung",
            n,
        )
    };
    assert_eq!(
        (got[2][0].clone(), got[3][0].clone()),
        (derive(1), derive(2))
    );

    // The statement downloaded again (other bytes, same lines) adds nothing.
    let again = tmp.path().join("again.xml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&again, text.replace("<Stmt>", "<Stmt>\n")).unwrap();
    ingest_ok(tmp.path(), &[&again]);
    assert_eq!(rows(&tmp.path().join("lake"), &DEPOSITS).len(), 4);
    let files = rows(&tmp.path().join("lake"), &FILES);
    assert_eq!(get(&files[1], "rows_duplicate"), Some("4"), "{files:?}");
}

#[test]
fn camt053_version_08_other_account_id_datetime_and_creditor_reference() {
    let tmp = tempfile::tempdir().unwrap();
    ingest_ok(tmp.path(), &[&fixture("bank/camt/camt053-v08.xml")]);
    let (acct, stmt) = ("0000123456789", "253USD0000123456789-20261031");
    assert_eq!(
        lines(tmp.path(), &DEPOSITS),
        table(&[
            // The entry's own AcctSvcrRef (not the transaction's); the date of `DtTm` as
            // written in its own offset; the `Strd` creditor reference before `AddtlNtryInf`.
            [
                "FP-CN_98765/01",
                "2026-10-31",
                "2943.45",
                "USD",
                "5044042001 ACH CREDIT AMAZON PAYMENTS INC",
                acct,
                stmt,
                "52"
            ],
            [
                "FP-DB_11111/01",
                "2026-10-31",
                "-58.35",
                "USD",
                "AMAZON PAY DEBT COLLECTION 5044042099 ACH DEBIT",
                acct,
                stmt,
                "98"
            ],
        ])
    );
}

#[test]
fn camt054_notification_with_split_unstructured_remittance() {
    let tmp = tempfile::tempdir().unwrap();
    ingest_ok(tmp.path(), &[&fixture("bank/camt/camt054-split-ustrd.xml")]);
    assert_eq!(
        lines(tmp.path(), &DEPOSITS),
        table(&[[
            "20261006000800020000001",
            "2026-10-06",
            "812.40",
            "CHF",
            "AMAZON PAYMENTS EUROPE S.C.A. AMAZON PAY SETTLEMENT 5044042010 PERIOD 2026-09-22/2026-10-06",
            "CH9300762011623852957",
            "NTFCTN-20261006-0001-1",
            "14"
        ]])
    );
}

#[test]
fn camt052_pending_entries_are_kept_apart_and_counted() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ingest_ok(tmp.path(), &[&fixture("bank/camt/camt052-pending.xml")]);
    let (acct, stmt) = ("GB33BUKB20201555555555", "RPT-20261007-1400-GB");
    assert_eq!(
        lines(tmp.path(), &DEPOSITS),
        table(&[[
            "GB-20261007-0001",
            "2026-10-07",
            "640.00",
            "GBP",
            "AMAZON PAYMENTS UK 5044042020",
            acct,
            stmt,
            "13"
        ]])
    );
    // A pending entry may have only a value date; an `INFO` one is not booked either.
    assert_lines(
        lines(tmp.path(), &BANK_PENDING),
        table(&[
            [
                "GB-20261007-0002",
                "2026-10-08",
                "210.55",
                "GBP",
                "AMAZON PAYMENTS UK 5044042021",
                acct,
                stmt,
                "21",
            ],
            [
                "derived",
                "2026-10-07",
                "-12.00",
                "GBP",
                "CARD FEES PREVIEW",
                acct,
                stmt,
                "29",
            ],
        ]),
    );
    let files = rows(&tmp.path().join("lake"), &FILES);
    assert_eq!(
        (get(&files[0], "rows_read"), get(&files[0], "rows_loaded")),
        (Some("3"), Some("3")),
        "{out}"
    );
}

#[test]
fn a_statement_that_does_not_add_up_is_reported_and_still_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ingest_ok(tmp.path(), &[&fixture("bank/camt/camt053-unbalanced.xml")]);
    assert!(
        out.contains(
            "camt053-unbalanced.xml: statement 0352C5320261005210000 of account \
             DE44500105175407324931 does not add up: opening 10000.00 + 4 booked lines 1164.18 \
             = 11164.18, but the closing balance is 11164.81 (difference 0.63 EUR)"
        ),
        "{out}"
    );
    assert_eq!(out.matches("does not add up").count(), 1, "{out}");
    assert_eq!(rows(&tmp.path().join("lake"), &DEPOSITS).len(), 4);
}

#[test]
fn camt_bad_entries_are_rejected_at_their_element_and_broken_xml_fails_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(fixture("bank/camt/camt053-v02.xml")).unwrap();
    let bad = tmp.path().join("bad.xml");
    std::fs::write(
        &bad,
        text.replace(
            "<Amt Ccy=\"EUR\">84.10</Amt>",
            "<Amt Ccy=\"EUR\">84,10</Amt>",
        )
        .replacen(
            "<BookgDt><Dt>2026-10-05</Dt></BookgDt>\n        <AddtlNtryInf>Kontof",
            "<BookgDt><Dt>2026-13-05</Dt></BookgDt>\n        <AddtlNtryInf>Kontof",
            1,
        ),
    )
    .unwrap();
    let out = payrecon(tmp.path())
        .arg("ingest")
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let r = project(
        &rows(&tmp.path().join("lake"), &payrecon::model::schema::REJECTS),
        &["source_line", "column"],
    );
    assert_eq!(
        r,
        [
            ["51", "Ntry/Amt (column 9)"],
            ["69", "Ntry/BookgDt/Dt (column 18)"]
        ]
        .map(|r| r.map(String::from).to_vec())
    );
    let files = rows(&tmp.path().join("lake"), &FILES);
    assert_eq!(
        (
            get(&files[0], "rows_read"),
            get(&files[0], "rows_loaded"),
            get(&files[0], "rows_rejected")
        ),
        (Some("4"), Some("2"), Some("2"))
    );

    let broken = tmp.path().join("broken.xml");
    std::fs::write(
        &broken,
        text.replace(
            "</Ntry>\n      <Ntry>\n        <NtryRef>",
            "</Ntri>\n      <Ntry>\n        <NtryRef>",
        ),
    )
    .unwrap();
    let out = payrecon(tmp.path())
        .arg("ingest")
        .arg(&broken)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("broken.xml:48 (column"), "{stdout}");
}

#[test]
fn mt940_abn_amro_header_lines_multiline_86_and_a_year_end() {
    let tmp = tempfile::tempdir().unwrap();
    ingest_ok(tmp.path(), &[&fixture("bank/mt940/abnamro-year-end.sta")]);
    assert_eq!(format_of(tmp.path()), "mt940");
    let (acct, stmt) = ("517852257", "26365/1");
    assert_lines(
        lines(tmp.path(), &DEPOSITS),
        table(&[
            // Valued 2 January 2027, booked on 31 December 2026.
            [
                "derived",
                "2026-12-31",
                "1258.28",
                "EUR",
                "/TRTP/SEPA OVERBOEKING/IBAN/LU89751000135104200E/BIC/BCIRLULL /NAME/AMAZON PAYMENTS EUROPE S.C.A./REMI/AMAZON PAY SETTLEMENT 5044042030/EREF/NOTPROVIDED",
                acct,
                stmt,
                "8",
            ],
            [
                "derived",
                "2026-12-31",
                "-9.00",
                "EUR",
                "GIRO   428428 KPN - DIGITENNE    BETALINGSKENM.  000000042188659 5314606715                       BETREFT FACTUUR D.D. 20-12-2026",
                acct,
                stmt,
                "12",
            ],
            [
                "derived",
                "2026-12-31",
                "-11.59",
                "EUR",
                "BEA   NR:XXX1234   31.12.26/12.54 DIRCKIII FIL2500 KATWIJK,PAS999",
                acct,
                stmt,
                "15",
            ],
        ]),
    );
}

#[test]
fn mt940_structured_86_subfields_funds_code_and_windows_1252() {
    let tmp = tempfile::tempdir().unwrap();
    ingest_ok(tmp.path(), &[&fixture("bank/mt940/structured-86.sta")]);
    let (acct, stmt) = ("70150000/1002345678", "00198/001");
    assert_lines(
        lines(tmp.path(), &DEPOSITS),
        table(&[
            [
                "2026100612345678",
                "2026-10-06",
                "1258.28",
                "EUR",
                "EREF+NOTPROVIDED SVWZ+AMAZON PAYMENTS EUROPE S.C.A. 5044042006 AMAZON PAY SETTLEMENT AMAZON PAYMENTS EUROPE S.C.A",
                acct,
                stmt,
                "6",
            ],
            [
                "2026100612345679",
                "2026-10-06",
                "-84.10",
                "EUR",
                "EREF+EUINGB26-123456 SVWZ+AWS EMEA Rechnung EUINGB26- 123456 Amazon Web Services EMEA SARL",
                acct,
                stmt,
                "10",
            ],
            [
                "derived",
                "2026-10-06",
                "-9.90",
                "EUR",
                "Kontoführung 30.09.2026",
                acct,
                stmt,
                "13",
            ],
        ]),
    );
}

#[test]
fn mt942_interim_lines_are_pending() {
    let tmp = tempfile::tempdir().unwrap();
    ingest_ok(tmp.path(), &[&fixture("bank/mt940/mt942-interim.sta")]);
    assert!(rows(&tmp.path().join("lake"), &DEPOSITS).is_empty());
    assert_eq!(
        lines(tmp.path(), &BANK_PENDING),
        table(&[[
            "2026100700000001",
            "2026-10-07",
            "640.00",
            "EUR",
            "AMAZON PAY SETTLEMENT 5044042040",
            "70150000/1002345678",
            "00199/001",
            "7"
        ]])
    );
}

#[test]
fn bai2_continuations_funds_types_minor_units_and_control_totals() {
    let tmp = tempfile::tempdir().unwrap();
    let file = fixture("bank/bai2/continuation.bai");
    let out = ingest_ok(tmp.path(), &[&file]);
    assert!(!out.contains("does not tie"), "{out}");
    assert_eq!(format_of(tmp.path()), "bai2");
    let (a1, a2, stmt) = ("0975312468", "0975312469", "1/261005");
    assert_eq!(
        lines(tmp.path(), &DEPOSITS),
        table(&[
            [
                "BT26100500001",
                "2026-10-05",
                "2943.45",
                "USD",
                "5044042001 AMAZON PAYMENTS INC ACH CREDIT SETTLEMENT 5044042001",
                a1,
                stmt,
                "4"
            ],
            [
                "BT26100500002",
                "2026-10-05",
                "-58.35",
                "USD",
                "5044042099 AMAZON PAY DEBT COLLECTION",
                a1,
                stmt,
                "6"
            ],
            [
                "BX26100500003",
                "2026-10-05",
                "-10.00",
                "USD",
                "CHECK PAID 1042",
                a1,
                stmt,
                "8"
            ],
            // The account's own currency; its `03` continued on an `88`.
            [
                "BT26100500004",
                "2026-10-05",
                "600.00",
                "CAD",
                "AMAZON PAYMENTS CANADA",
                a2,
                stmt,
                "12"
            ],
        ])
    );
    // Totals that do not tie are reported by line.
    let tmp = tempfile::tempdir().unwrap();
    let bad = tmp.path().join("bad.bai");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&bad, text.replace("49,1088690,7/", "49,1088691,7/")).unwrap();
    let out = ingest_ok(tmp.path(), &[&bad]);
    assert!(
        out.contains("bad.bai: account 1/261005 of account 0975312468: line 9: the account trailer does not tie: control total 1088691, the account's amounts add up to 1088690"),
        "{out}"
    );
}
