//! End-to-end ingest tests: the real binary on small fixtures, one quirk per fixture.

mod common;

use common::*;
use payrecon::model::schema::{
    CHARGES, DEPOSITS, FILES, ORDERS, REFUNDS, REJECTS, SETTLEMENT_LINES, SETTLEMENTS,
};
use predicates::str::contains;

fn ingest(dir: &std::path::Path, fixture_name: &str) -> assert_cmd::assert::Assert {
    payrecon(dir)
        .args(["ingest", "--lake", "lake"])
        .arg(fixture(fixture_name))
        .assert()
}

#[test]
fn every_timestamp_form_is_normalised_to_utc() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/timestamps").success();
    let got = project(
        &rows(&tmp.path().join("lake"), &CHARGES),
        &["merchant_reference_id", "creation_timestamp"],
    );
    let want = [
        ("ORD-1", "2026-10-01T21:37:01Z"),
        ("ORD-2", "2026-10-01T14:37:01Z"),
        ("ORD-3", "2026-10-01T07:37:01Z"),
        ("ORD-4", "2026-10-01T14:37:01Z"),
        ("ORD-5", "2026-10-01T14:37:01.123Z"),
        ("ORD-6", "2026-10-01T14:37:01Z"),
        ("ORD-7", "2026-10-01T14:37:01Z"),
    ];
    let want: Vec<Vec<String>> = want
        .iter()
        .map(|(a, b)| vec![a.to_string(), b.to_string()])
        .collect();
    assert_eq!(got, want);
}

#[test]
fn bom_is_stripped_and_values_normalised() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/bom")
        .success()
        .stdout(contains("orders"));
    let got = project(
        &rows(&tmp.path().join("lake"), &ORDERS),
        &[
            "order_id",
            "country",
            "device",
            "order_total",
            "currency",
            "status",
            "charge_permission_id",
        ],
    );
    assert_eq!(
        got,
        vec![
            vec![
                "ORD-1",
                "US",
                "desktop",
                "49.99",
                "USD",
                "placed",
                "P01-0000001-0000001"
            ],
            vec![
                "ORD-2",
                "JP",
                "mobile_web",
                "5000.00",
                "JPY",
                "shipped",
                "NULL"
            ],
        ]
    );
}

#[test]
fn crlf_line_ends() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/crlf").success();
    let got = project(
        &rows(&tmp.path().join("lake"), &DEPOSITS),
        &[
            "bank_transaction_id",
            "booking_date",
            "amount",
            "reference",
            "source_line",
        ],
    );
    assert_eq!(
        got,
        vec![
            vec![
                "BT1",
                "2026-10-05",
                "1234.50",
                "AMAZON PAYMENTS INC 5044000001",
                "2"
            ],
            vec!["BT2", "2026-10-05", "-50.00", "RENT", "3"],
        ]
    );
}

#[test]
fn settlement_report_with_grouping_commas_and_header_block() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/grouping")
        .success()
        .stdout(contains("settlement"));
    let lake = tmp.path().join("lake");
    let got = project(
        &rows(&lake, &SETTLEMENT_LINES),
        &[
            "transaction_type",
            "store_name",
            "transaction_amount",
            "transaction_percentage_fee",
            "total_transaction_fee",
            "net_transaction_amount",
            "source_line",
        ],
    );
    assert_eq!(
        got,
        vec![
            vec![
                "Capture",
                "Example Store, Inc.",
                "1234.56",
                "-35.80",
                "-36.10",
                "1198.46",
                "7"
            ],
            vec![
                "Adjustment",
                "Example Store, Inc.",
                "-1.00",
                "0.00",
                "0.00",
                "-1.00",
                "8"
            ],
            vec![
                "Transfer",
                "Example Store, Inc.",
                "-1197.46",
                "0.00",
                "0.00",
                "-1197.46",
                "9"
            ],
        ]
    );
    let heads = rows(&lake, &SETTLEMENTS);
    assert_eq!(heads.len(), 1);
    assert_eq!(get(&heads[0], "settlement_id"), Some("5044561311"));
    assert_eq!(get(&heads[0], "seller_id"), Some("A1XX111XXX111XXX"));
    assert_eq!(
        get(&heads[0], "settlement_end"),
        Some("2026-10-02T00:00:00Z")
    );
    assert_eq!(get(&heads[0], "line_count"), Some("3"));
    assert!(
        get(&heads[0], "header_json")
            .unwrap()
            .contains("\"DepositDate\":\"2026-10-06T00:00:00-0000\"")
    );
}

#[test]
fn json_lines_charges_and_refunds() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/jsonl")
        .success()
        .stdout(contains("jsonl"));
    let lake = tmp.path().join("lake");
    let got = project(
        &rows(&lake, &CHARGES),
        &[
            "charge_id",
            "merchant_reference_id",
            "state",
            "reason_code",
            "charge_amount",
            "capture_amount",
            "refunded_amount",
            "currency",
            "creation_timestamp",
            "last_updated_timestamp",
            "seller_reference_id",
        ],
    );
    // Rows of keyed tables are stored in key order.
    assert_eq!(
        got,
        vec![
            vec![
                "P01-1111111-2222222-C000001",
                "ORD-JP-1",
                "Declined",
                "SoftDeclined",
                "5000.00",
                "NULL",
                "NULL",
                "JPY",
                "2026-10-01T10:00:00Z",
                "2026-10-01T10:00:01Z",
                "NULL"
            ],
            vec![
                "P01-2400747-7777779-C084595",
                "ORD-000123",
                "Captured",
                "NULL",
                "49.99",
                "49.99",
                "0.00",
                "USD",
                "2026-10-01T15:48:01Z",
                "2026-10-01T15:48:50Z",
                "NULL"
            ],
        ]
    );
    let refunds = project(
        &rows(&lake, &REFUNDS),
        &[
            "refund_id",
            "charge_id",
            "state",
            "refund_amount",
            "last_updated_timestamp",
        ],
    );
    assert_eq!(
        refunds,
        vec![vec![
            "P01-2400747-7777779-R022311",
            "P01-2400747-7777779-C084595",
            "Refunded",
            "14.00",
            "2026-10-03T16:53:00Z"
        ]]
    );
    // The blank line between objects is not a row.
    let files = project(
        &rows(&lake, &FILES),
        &["kind", "format", "rows_read", "rows_loaded"],
    );
    assert_eq!(
        files,
        vec![
            vec!["charges", "jsonl", "2", "2"],
            vec!["refunds", "jsonl", "1", "1"]
        ]
    );
}

#[test]
fn a_report_loaded_twice_keeps_every_line_once() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/twice").success();
    let lake = tmp.path().join("lake");
    assert_eq!(rows(&lake, &SETTLEMENT_LINES).len(), 3);
    let files = project(
        &rows(&lake, &FILES),
        &["path", "rows_read", "rows_loaded", "rows_duplicate"],
    );
    assert_eq!(files.len(), 2);
    assert_eq!(files[0][1..], ["3", "3", "0"]);
    assert_eq!(files[1][1..], ["3", "0", "3"]);
    assert_eq!(rows(&lake, &SETTLEMENTS).len(), 1);
}

#[test]
fn latest_state_wins_across_daily_exports() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/state-update").success();
    let lake = tmp.path().join("lake");
    let got = project(
        &rows(&lake, &CHARGES),
        &[
            "charge_id",
            "state",
            "capture_amount",
            "refunded_amount",
            "last_updated_timestamp",
            "source_file",
        ],
    );
    let file = |n: &str| fixture("ingest/state-update").join(n).display().to_string();
    assert_eq!(
        got,
        vec![
            // Captured on day 2 beats Authorized (day 1, and its stale re-export on day 3).
            vec![
                "P01-0000001-0000001-C000001".into(),
                "Captured".into(),
                "49.99".into(),
                "NULL".into(),
                "2026-10-02T09:00:00Z".into(),
                file("charges-2026-10-02.csv")
            ],
            // Same timestamp: the file read later wins (new RefundedAmount).
            vec![
                "P01-0000002-0000002-C000002".into(),
                "Captured".into(),
                "20.00".into(),
                "5.00".into(),
                "2026-10-01T11:00:05Z".into(),
                file("charges-2026-10-02.csv")
            ],
        ]
    );
    // The day-3 row is identical to one already loaded: an exact duplicate, not an attempt.
    let files = project(
        &rows(&lake, &FILES),
        &["rows_read", "rows_loaded", "rows_duplicate"],
    );
    assert_eq!(
        files,
        vec![
            vec!["2", "2", "0"],
            vec!["2", "2", "0"],
            vec!["1", "0", "1"]
        ]
    );
}

#[test]
fn state_updates_across_separate_ingests() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("ingest/state-update");
    for day in [
        "charges-2026-10-02.csv",
        "charges-2026-10-01.csv",
        "charges-2026-10-03.csv",
    ] {
        payrecon(tmp.path())
            .args(["ingest", "--lake", "lake"])
            .arg(dir.join(day))
            .assert()
            .success();
    }
    let got = project(
        &rows(&tmp.path().join("lake"), &CHARGES),
        &["charge_id", "state", "refunded_amount"],
    );
    // Out of order: day 1 is read after day 2, but Captured has the later timestamp. For the
    // tie of charge 2, day 1's file is read later this time, so its row wins.
    assert_eq!(
        got,
        vec![
            vec!["P01-0000001-0000001-C000001", "Captured", "NULL"],
            vec!["P01-0000002-0000002-C000002", "Captured", "NULL"]
        ]
    );
}

#[test]
fn malformed_rows_are_rejected_with_line_and_column() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/malformed")
        .code(1)
        .stdout(contains("charges.csv: 6 rows rejected; first at line 3"));
    let lake = tmp.path().join("lake");
    let rejects = project(&rows(&lake, &REJECTS), &["source_line", "column", "reason"]);
    let want = [
        ("3", "NULL", "expected 13 fields, found 14"),
        (
            "4",
            "ChargeAmount",
            "\"49.999\" has 3 fractional digits, USD allows 2",
        ),
        (
            "7",
            "CreationTimestamp",
            "\"2026-10-01 10:00\" is not an ISO 8601 timestamp",
        ),
        ("8", "CurrencyCode", "unknown currency \"XYZ\""),
        ("9", "ChargeId", "required field is empty"),
        (
            "10",
            "State",
            "unknown State \"Settled\" (expected one of AuthorizationInitiated, Authorized, CaptureInitiated, Captured, Canceled, Declined)",
        ),
    ];
    let charge_rejects: Vec<_> = rejects.iter().take(6).cloned().collect();
    assert_eq!(
        charge_rejects,
        want.iter()
            .map(|(a, b, c)| vec![a.to_string(), b.to_string(), c.to_string()])
            .collect::<Vec<_>>()
    );
    // The multi-line quoted field keeps physical line numbering right (rows at 2, 5-6, 11 load).
    let loaded = project(
        &rows(&lake, &CHARGES),
        &["merchant_reference_id", "source_line"],
    );
    assert_eq!(
        loaded,
        vec![
            vec!["ORD-1", "2"],
            vec!["ORD-4\ncontinued", "5"],
            vec!["ORD-9", "11"]
        ]
    );
    // JSON Lines: a number where a decimal string belongs, a truncated line, an unknown state.
    let json: Vec<_> = rejects[6..]
        .iter()
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(json[0].0, "2");
    assert_eq!(json[0].1, "refundAmount.amount", "{json:?}");
    assert_eq!(json[1].0, "3");
    assert_eq!(
        json[2],
        ("4".to_string(), "statusDetails.state".to_string())
    );
    let files = project(
        &rows(&lake, &FILES),
        &[
            "kind",
            "rows_read",
            "rows_loaded",
            "rows_rejected",
            "rows_duplicate",
        ],
    );
    assert_eq!(
        files,
        vec![
            vec!["charges", "9", "3", "6", "0"],
            vec!["refunds", "4", "1", "3", "0"]
        ]
    );
}

#[test]
fn unknown_extra_columns_are_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/extra-columns").success();
    let got = project(
        &rows(&tmp.path().join("lake"), &ORDERS),
        &["order_id", "device", "order_total", "status"],
    );
    assert_eq!(got, vec![vec!["ORD-9", "tablet", "1000.00", "NULL"]]);
}

#[test]
fn order_columns_are_configurable() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = fixture("ingest/mapped-orders");
    payrecon(tmp.path())
        .args(["ingest", "--lake", "lake", "--config"])
        .arg(dir.join("payrecon.toml"))
        .arg(&dir)
        .assert()
        .success();
    let got = project(
        &rows(&tmp.path().join("lake"), &ORDERS),
        &[
            "order_id",
            "created_at",
            "country",
            "device",
            "order_total",
            "currency",
            "status",
        ],
    );
    assert_eq!(
        got,
        vec![vec![
            "#1001",
            "2026-10-01T14:00:00Z",
            "CA",
            "android_app",
            "25.00",
            "CAD",
            "paid"
        ]]
    );
}

#[test]
fn unrecognised_and_unreadable_files_are_reported_not_loaded() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .args(["ingest", "--lake", "lake"])
        .arg(fixture("ingest/unrecognized"))
        .arg(fixture("ingest/missing-column"))
        .assert()
        .code(1)
        .stdout(contains("coffee.csv: not ingested: unrecognised header [date, description, value]"))
        .stdout(contains("charges.csv:1 (column CreationTimestamp, LastUpdatedTimestamp): missing required columns CreationTimestamp, LastUpdatedTimestamp"));
    assert!(rows(&tmp.path().join("lake"), &FILES).is_empty());
}

#[test]
fn re_ingesting_changes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/state-update").success();
    let before = snapshot(&tmp.path().join("lake"));
    ingest(tmp.path(), "ingest/state-update")
        .success()
        .stdout(contains("already ingested"));
    assert_eq!(before, snapshot(&tmp.path().join("lake")));
}

#[test]
fn bad_config_names_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        "timezone = \"Nowhere/Else\"\n",
    )
    .unwrap();
    payrecon(tmp.path())
        .args(["ingest", "--lake", "lake"])
        .arg(fixture("ingest/bom"))
        .assert()
        .code(2)
        .stderr(contains("payrecon.toml: key `timezone`"));
}

#[test]
fn missing_input_path_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .args(["ingest", "--lake", "lake", "no-such-dir"])
        .assert()
        .code(2)
        .stderr(contains("no-such-dir"));
}

#[test]
fn the_same_content_twice_in_one_run_is_read_once() {
    let tmp = tempfile::tempdir().unwrap();
    let inbox = tmp.path().join("inbox");
    std::fs::create_dir(&inbox).unwrap();
    let src = fixture("ingest/crlf/deposits.csv");
    std::fs::copy(&src, inbox.join("a.csv")).unwrap();
    std::fs::copy(&src, inbox.join("b.csv")).unwrap();
    payrecon(tmp.path())
        .args(["ingest", "--lake", "lake", "inbox"])
        .assert()
        .success()
        .stdout(contains("2 files, 1 loaded, 1 already ingested"));
    assert_eq!(rows(&tmp.path().join("lake"), &DEPOSITS).len(), 2);
}

#[test]
fn manifest_hash_is_sha256sum_of_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    ingest(tmp.path(), "ingest/bom").success();
    let files = rows(&tmp.path().join("lake"), &FILES);
    let (want, bytes) =
        payrecon::ingest::hashing::sha256_file(&fixture("ingest/bom/orders.csv")).unwrap();
    assert_eq!(get(&files[0], "sha256"), Some(want.as_str()));
    assert_eq!(get(&files[0], "bytes"), Some(bytes.to_string().as_str()));
}
