//! End-to-end tests of `payrecon query`: SQL over the lake tables by name.

mod common;

use common::*;
use predicates::prelude::PredicateBooleanExt;
use predicates::str::contains;

/// `payrecon query --lake lake --format FORMAT SQL` in `dir`.
fn query(dir: &std::path::Path, format: &str, sql: &str) -> assert_cmd::assert::Assert {
    payrecon(dir)
        .args(["query", "--lake", "lake", "--format", format, sql])
        .assert()
}

fn lake_with(dir: &std::path::Path, fixture_names: &[&str]) {
    for f in fixture_names {
        payrecon(dir)
            .args(["ingest", "--lake", "lake"])
            .arg(fixture(f))
            .assert()
            .success();
    }
}

#[test]
fn sql_over_tables_by_name_with_exact_decimals_and_day_partitions() {
    let tmp = tempfile::tempdir().unwrap();
    lake_with(tmp.path(), &["ingest/grouping", "ingest/jsonl"]);
    query(tmp.path(), "csv", "SELECT transaction_type, transaction_amount, net_transaction_amount, day FROM settlement_lines ORDER BY source_line")
        .success()
        .stdout(
            "transaction_type,transaction_amount,net_transaction_amount,day\n\
             Capture,1234.56,1198.46,2026-10-01\n\
             Adjustment,-1.00,-1.00,2026-10-01\n\
             Transfer,-1197.46,-1197.46,2026-10-02\n",
        );
    // A join across tables, and an aggregate over a decimal column.
    query(
        tmp.path(),
        "csv",
        "SELECT c.charge_id, r.refund_amount, c.capture_amount - r.refund_amount AS kept \
             FROM charges c JOIN refunds r ON r.charge_id = c.charge_id",
    )
    .success()
    .stdout("charge_id,refund_amount,kept\nP01-2400747-7777779-C084595,14.00,35.99\n");
}

#[test]
fn query_files_and_empty_tables() {
    let tmp = tempfile::tempdir().unwrap();
    lake_with(tmp.path(), &["ingest/crlf"]);
    let sql = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/lake_overview.sql");
    // Tables with no data yet (charges, orders, ...) are empty, not errors.
    payrecon(tmp.path())
        .args(["query", "--lake", "lake", "--format", "csv"])
        .arg(&sql)
        .assert()
        .success()
        .stdout("table_name,currency,row_count,amount\ndeposits,USD,2,1184.50\n");
    payrecon(tmp.path())
        .args([
            "query",
            "--lake",
            "lake",
            "--format",
            "table",
            "SELECT count(*) AS n FROM rejects",
        ])
        .assert()
        .success()
        .stdout("n\n-\n0\n(1 row)\n");
    // Piped without --format: CSV.
    payrecon(tmp.path())
        .args([
            "query",
            "--lake",
            "lake",
            "SELECT count(*) AS n FROM rejects",
        ])
        .assert()
        .success()
        .stdout("n\n0\n");
}

#[test]
fn bad_sql_and_missing_lake_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    payrecon(tmp.path())
        .args(["query", "--lake", "lake", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(contains("is not a payrecon lake"));
    lake_with(tmp.path(), &["ingest/crlf"]);
    payrecon(tmp.path())
        .args(["query", "--lake", "lake", "SELECT nope FROM deposits"])
        .assert()
        .code(2)
        .stderr(contains("query:"));
    query(tmp.path(), "parquet", "SELECT 1")
        .code(2)
        .stderr(contains("needs --output"));
}

#[test]
fn json_and_markdown_keep_money_exact_and_columns_in_order() {
    let tmp = tempfile::tempdir().unwrap();
    lake_with(tmp.path(), &["ingest/jsonl"]);
    let sql = "SELECT charge_id, charge_amount, creation_timestamp, day, source_line, reason_code FROM charges ORDER BY source_line";
    query(tmp.path(), "json", sql)
        .success()
        .stdout(
            "[\n  {\"charge_id\": \"P01-2400747-7777779-C084595\", \"charge_amount\": \"49.99\", \"creation_timestamp\": \"2026-10-01T15:48:01Z\", \"day\": \"2026-10-01\", \"source_line\": 1, \"reason_code\": null},\n  \
             {\"charge_id\": \"P01-1111111-2222222-C000001\", \"charge_amount\": \"5000.00\", \"creation_timestamp\": \"2026-10-01T10:00:00Z\", \"day\": \"2026-10-01\", \"source_line\": 3, \"reason_code\": \"SoftDeclined\"}\n]\n",
        );
    query(tmp.path(), "md", "SELECT charge_id, charge_amount FROM charges ORDER BY source_line")
        .success()
        .stdout("| charge_id | charge_amount |\n|---|---:|\n| P01-2400747-7777779-C084595 | 49.99 |\n| P01-1111111-2222222-C000001 | 5000.00 |\n");
    query(tmp.path(), "json", "SELECT * FROM charges WHERE 1 = 0")
        .success()
        .stdout("[]\n");
}

#[test]
fn the_reconciliation_results_are_a_table_once_written() {
    let tmp = tempfile::tempdir().unwrap();
    generated_lake(
        tmp.path(),
        &["--orders", "40", "--seed", "3", "--month", "2026-10"],
    );
    // Before any reconciliation there is no such table.
    query(tmp.path(), "csv", "SELECT COUNT(*) AS n FROM results")
        .code(2)
        .stderr(contains("results"));
    let code = payrecon(tmp.path())
        .args(["reconcile", "--lake", "lake"])
        .output()
        .unwrap()
        .status
        .code();
    assert!(matches!(code, Some(0 | 1)));
    let out = query(
        tmp.path(),
        "csv",
        "SELECT item_type, COUNT(*) AS n FROM results WHERE layer = 1 GROUP BY item_type ORDER BY item_type",
    )
    .success()
    .get_output()
    .stdout
    .clone();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("item_type,n\n"), "{text}");
    assert!(text.contains("order,40\n"), "{text}");
    // Every row once: the files' rows, not the day folders', and no `day` column added.
    query(tmp.path(), "csv", "SELECT * FROM results LIMIT 1")
        .success()
        .stdout(contains("layer,item_type,item_id,status,exception").and(contains(",day").not()));
}
