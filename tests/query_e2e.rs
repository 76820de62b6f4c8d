//! End-to-end tests of `payrecon query`: SQL over the lake tables by name.

mod common;

use common::*;
use predicates::str::contains;

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
    payrecon(tmp.path())
        .args([
            "query",
            "--lake",
            "lake",
            "--format",
            "csv",
            "SELECT transaction_type, transaction_amount, net_transaction_amount, day FROM settlement_lines ORDER BY source_line",
        ])
        .assert()
        .success()
        .stdout(
            "transaction_type,transaction_amount,net_transaction_amount,day\n\
             Capture,1234.56,1198.46,2026-10-01\n\
             Adjustment,-1.00,-1.00,2026-10-01\n\
             Transfer,-1197.46,-1197.46,2026-10-02\n",
        );
    // A join across tables, and an aggregate over a decimal column.
    payrecon(tmp.path())
        .args([
            "query",
            "--lake",
            "lake",
            "--format",
            "csv",
            "SELECT c.charge_id, r.refund_amount, c.capture_amount - r.refund_amount AS kept \
             FROM charges c JOIN refunds r ON r.charge_id = c.charge_id",
        ])
        .assert()
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
            "SELECT count(*) AS n FROM rejects",
        ])
        .assert()
        .success()
        .stdout(contains("(1 row)"));
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
    payrecon(tmp.path())
        .args(["query", "--lake", "lake", "--format", "parquet", "SELECT 1"])
        .assert()
        .code(2)
        .stderr(contains("needs --output"));
}
