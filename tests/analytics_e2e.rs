//! End-to-end tests of the analytics commands on a hand-computed fixture
//! (`tests/fixtures/analytics/basic`), and two-path checks on generated data: the Rust
//! transforms against the SQL of `queries/`, and per-cell counts against the input.
//!
//! The fixture (every number below is worked out by hand from it):
//! - order A (US desktop, 20 USD): SoftDeclined, then an empty reason (= `Declined`), then
//!   Captured: recovered after 3 attempts. A stale update of the capture (older
//!   `LastUpdatedTimestamp`) in the second file must not win.
//! - order B (US desktop, 60 USD): AuthorizationInitiated, updated in the second file to
//!   Declined/HardDeclined (latest state wins); then Canceled/ExpiredUnused (= approved).
//! - order C (DE mobile_web, 300 EUR): Canceled/MerchantCanceled; then two attempts at the same
//!   instant, `PC-C1` Declined/MFAFailed and `PC-C2` Authorized (listed in the other order):
//!   `charge_id` breaks the tie, so the first decided attempt is the decline.
//! - order D (JP ios_app, 3000 JPY, band 2500-5000): one pending attempt; undecided.
//! - order E (JP ios_app, 2400 JPY, band 0-2500): Declined with a code the catalogue lacks.
//! - F: no order record (country/device `unknown`, band from the 600 USD charge: 500+).
//! - G: no MerchantReferenceId; joined to order G (GB tablet) by ChargePermissionId.
//!
//! Newest attempt 2026-10-05T02:00Z; with the 72 h window, orders first tried after
//! 2026-10-02T02:00Z (C, D, E, F, G) are immature.

mod common;

use std::path::Path;

use common::*;
use payrecon::analytics::stats::wilson;
use serde_json::{Map, Value};

type Row = Map<String, Value>;

fn lake_of_fixture(dir: &Path) {
    payrecon(dir)
        .args(["ingest", "--lake", "lake"])
        .arg(fixture("analytics/basic"))
        .assert()
        .success();
}

/// Runs `payrecon ARGS --format json` in `dir` and parses the rows.
fn json_rows(dir: &Path, args: &[&str]) -> Vec<Row> {
    let out = payrecon(dir)
        .args(args)
        .args(["--lake", "lake", "--format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

fn s<'a>(r: &'a Row, k: &str) -> &'a str {
    r[k].as_str()
        .unwrap_or_else(|| panic!("{k} is not text: {r:?}"))
}

fn n(r: &Row, k: &str) -> u64 {
    r[k].as_u64()
        .unwrap_or_else(|| panic!("{k} is not a count: {r:?}"))
}

fn f(r: &Row, k: &str) -> Option<f64> {
    r[k].as_f64()
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-12,
        (None, None) => true,
        _ => false,
    }
}

#[track_caller]
fn assert_rate(r: &Row, k: &str, want: Option<f64>) {
    assert!(
        close(f(r, k), want),
        "{k}: {:?} != {want:?} in {r:?}",
        f(r, k)
    );
}

#[test]
fn totals_follow_every_definition() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let rows = json_rows(tmp.path(), &["approvals"]);
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    // Outcomes: approved A3 B2 C2 F1 G1; declined A1 A2 B1 C1 E1; pending D1; canceled C0.
    assert_eq!(
        [
            n(r, "attempts"),
            n(r, "approved"),
            n(r, "declined"),
            n(r, "pending"),
            n(r, "canceled")
        ],
        [12, 5, 5, 1, 1]
    );
    assert_rate(r, "approval_rate", Some(0.5));
    // Wilson 5/10 by hand: centre 0.5, half width 0.2634..., so (0.2366, 0.7634).
    assert!((f(r, "approval_rate_lo").unwrap() - 0.236593).abs() < 1e-6);
    assert!((f(r, "approval_rate_hi").unwrap() - 0.763407).abs() < 1e-6);
    // Mixed currencies: no amount-weighted rate.
    assert_eq!(r["amount_approval_rate"], Value::Null);
    // Orders A..G; decided all but D; first decided approved: F, G; eventually: A B C F G.
    assert_eq!(n(r, "orders"), 7);
    assert_eq!(n(r, "decided_orders"), 6);
    assert_rate(r, "first_attempt_rate", Some(2.0 / 6.0));
    assert_rate(r, "eventual_rate", Some(5.0 / 6.0));
    assert_rate(r, "retry_uplift", Some(5.0 / 6.0 - 2.0 / 6.0));
    assert_eq!(n(r, "immature_orders"), 5);
    assert_eq!(r["low_volume"], Value::Bool(true));
    let (lo, hi) = wilson(2, 6).unwrap();
    assert_rate(r, "first_attempt_rate_lo", Some(lo));
    assert_rate(r, "first_attempt_rate_hi", Some(hi));
}

#[test]
fn approvals_by_country_with_fallback_join_and_unknown() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let rows = json_rows(
        tmp.path(),
        &["approvals", "--by", "country", "--min-n", "2"],
    );
    let countries: Vec<&str> = rows.iter().map(|r| s(r, "country")).collect();
    assert_eq!(countries, ["DE", "GB", "JP", "US", "unknown"]);
    let counts: Vec<[u64; 5]> = rows
        .iter()
        .map(|r| {
            [
                n(r, "attempts"),
                n(r, "approved"),
                n(r, "declined"),
                n(r, "pending"),
                n(r, "canceled"),
            ]
        })
        .collect();
    assert_eq!(
        counts,
        [
            [3, 1, 1, 0, 1],
            [1, 1, 0, 0, 0],
            [2, 0, 1, 1, 0],
            [5, 2, 3, 0, 0],
            [1, 1, 0, 0, 0]
        ]
    );
    let (de, jp, us) = (&rows[0], &rows[2], &rows[3]);
    // Amount-weighted, single currency: US 80 of 180 USD; DE 300 of 600 EUR; JP 0 of 2400 JPY.
    assert_rate(us, "amount_approval_rate", Some(80.0 / 180.0));
    assert_rate(de, "amount_approval_rate", Some(0.5));
    assert_rate(jp, "amount_approval_rate", Some(0.0));
    // C: first decided attempt is PC-C1 (declined; charge_id breaks the tie), then approved.
    assert_rate(de, "first_attempt_rate", Some(0.0));
    assert_rate(de, "eventual_rate", Some(1.0));
    // US: A and B both recover after a first decline.
    assert_eq!(n(us, "orders"), 2);
    assert_rate(us, "first_attempt_rate", Some(0.0));
    assert_rate(us, "retry_uplift", Some(1.0));
    assert_eq!(n(us, "immature_orders"), 0);
    // Low volume at n < 2: US has 5 decided attempts and 2 decided orders; DE 1 decided order.
    let low: Vec<bool> = rows.iter().map(|r| r["low_volume"] == true).collect();
    assert_eq!(low, [true, true, true, false, true]);
    // JP: D is undecided, so only E counts in the order rates; both are immature.
    assert_eq!(n(jp, "orders"), 2);
    assert_eq!(n(jp, "decided_orders"), 1);
    assert_eq!(n(jp, "immature_orders"), 2);
}

#[test]
fn value_bands_per_currency_including_jpy() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let rows = json_rows(tmp.path(), &["approvals", "--by", "value_band"]);
    let got: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| (s(r, "value_band"), n(r, "attempts")))
        .collect();
    assert_eq!(
        got,
        [
            ("0-25", 4),      // A (20 USD, 3 attempts) and G (10 GBP)
            ("0-2500", 1),    // E (2400 JPY)
            ("50-100", 2),    // B (60 USD)
            ("250-500", 3),   // C (300 EUR)
            ("500+", 1),      // F: no order, its 600 USD charge
            ("2500-5000", 1), // D (3000 JPY)
        ]
    );
}

#[test]
fn days_and_weeks_follow_the_configured_time_zone() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let days = |rows: &[Row]| -> Vec<(String, u64)> {
        rows.iter()
            .map(|r| (s(r, "day").to_string(), n(r, "attempts")))
            .collect()
    };
    let utc = json_rows(tmp.path(), &["approvals", "--by", "day"]);
    assert_eq!(
        days(&utc),
        [
            ("2026-10-01".into(), 4),
            ("2026-10-02".into(), 5),
            ("2026-10-03".into(), 2),
            ("2026-10-05".into(), 1)
        ]
    );
    std::fs::write(
        tmp.path().join("payrecon.toml"),
        "timezone = \"America/New_York\"\n",
    )
    .unwrap();
    // G1 at 2026-10-05T02:00Z is 22:00 on the 4th in New York.
    let ny = json_rows(tmp.path(), &["approvals", "--by", "day"]);
    assert_eq!(days(&ny)[3], ("2026-10-04".into(), 1));
    let weeks = json_rows(tmp.path(), &["approvals", "--by", "week,month"]);
    assert_eq!(weeks.len(), 1);
    assert_eq!(s(&weeks[0], "week"), "2026-W40");
    assert_eq!(s(&weeks[0], "month"), "2026-10");
    let utc_weeks = {
        std::fs::remove_file(tmp.path().join("payrecon.toml")).unwrap();
        json_rows(tmp.path(), &["approvals", "--by", "week"])
    };
    let w: Vec<(&str, u64)> = utc_weeks
        .iter()
        .map(|r| (s(r, "week"), n(r, "attempts")))
        .collect();
    assert_eq!(w, [("2026-W40", 11), ("2026-W41", 1)]);
    // --from/--to select attempts by day and orders by their first attempt's day.
    let r = json_rows(
        tmp.path(),
        &["approvals", "--from", "2026-10-02", "--to", "2026-10-03"],
    );
    assert_eq!(n(&r[0], "attempts"), 7);
    assert_eq!(n(&r[0], "orders"), 4, "C, D, E, F (B started on the 1st)");
}

#[test]
fn declines_by_reason_with_classes_and_catalogue_advice() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let out = payrecon(tmp.path())
        .args(["declines", "--lake", "lake", "--format", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("FancyNewCode"),
        "unknown codes are warned about: {stderr}"
    );
    let rows = json_rows(tmp.path(), &["declines"]);
    let got: Vec<(&str, &str, u64)> = rows
        .iter()
        .map(|r| (s(r, "reason_code"), s(r, "decline_class"), n(r, "declines")))
        .collect();
    assert_eq!(
        got,
        [
            ("Declined", "buyer_action", 1), // the empty reason code
            ("FancyNewCode", "unknown", 1),
            ("HardDeclined", "hard", 1),
            ("MFAFailed", "buyer_action", 1),
            ("SoftDeclined", "soft", 1),
        ]
    );
    for r in &rows {
        assert_rate(r, "share_of_declines", Some(0.2));
        assert_rate(r, "share_of_attempts", Some(1.0 / 12.0));
    }
    let soft = &rows[4];
    assert_eq!(s(soft, "resolution_tier"), "T0");
    assert!(s(soft, "advice").contains("soft declined"));
    assert_eq!(rows[1]["resolution_tier"], Value::Null);
}

#[test]
fn recovery_by_first_decline_reason() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let rows = json_rows(tmp.path(), &["recovery"]);
    let got: Vec<(&str, u64, u64, Option<f64>)> = rows
        .iter()
        .map(|r| {
            (
                s(r, "reason_code"),
                n(r, "orders"),
                n(r, "recovered"),
                f(r, "median_attempts_to_recovery"),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("FancyNewCode", 1, 0, None),      // E: never recovered
            ("HardDeclined", 1, 1, Some(2.0)), // B: B1 declined, B2 approved
            ("MFAFailed", 1, 1, Some(3.0)),    // C: C0, C1, C2
            ("SoftDeclined", 1, 1, Some(3.0)), // A: A1, A2, A3
        ]
    );
    let (lo, hi) = wilson(1, 1).unwrap();
    assert_rate(&rows[1], "recovery_rate_lo", Some(lo));
    assert_rate(&rows[1], "recovery_rate_hi", Some(hi));
    assert_eq!(n(&rows[0], "immature_orders"), 1);
}

#[test]
fn changes_day_over_day_with_z_test() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    let rows = json_rows(
        tmp.path(),
        &[
            "changes",
            "--by",
            "",
            "--period",
            "day",
            "--at",
            "2026-10-02",
        ],
    );
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (s(r, "period"), s(r, "previous_period")),
        ("2026-10-02", "2026-10-01")
    );
    // 1 of 4 decided on the 1st, 2 of 3 on the 2nd (computed with Python's math.erfc).
    assert_eq!(
        (n(r, "previous_approved"), n(r, "previous_decided")),
        (1, 4)
    );
    assert_eq!((n(r, "approved"), n(r, "decided")), (2, 3));
    assert!((f(r, "z").unwrap() - 1.102396379610246).abs() < 1e-12);
    assert!((f(r, "p_value").unwrap() - 0.2702893848016987).abs() < 1e-12);
    assert_rate(r, "q_value", f(r, "p_value"));
    assert_eq!(r["significant"], false);
    // A week over week comparison of country cells: week 41 holds only G.
    let rows = json_rows(
        tmp.path(),
        &[
            "changes",
            "--period",
            "week",
            "--by",
            "country",
            "--at",
            "2026-10-05",
        ],
    );
    assert!(rows.iter().all(|r| s(r, "period") == "2026-W41"));
    assert_eq!(rows.len(), 5);
    // By default the last complete week: the newest attempt is in week 41, so week 40.
    let rows = json_rows(
        tmp.path(),
        &["changes", "--period", "week", "--by", "country"],
    );
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| s(r, "period") == "2026-W40"));
}

#[test]
fn bad_dimension_and_date_are_usage_errors() {
    let tmp = tempfile::tempdir().unwrap();
    lake_of_fixture(tmp.path());
    payrecon(tmp.path())
        .args(["approvals", "--lake", "lake", "--by", "country,colour"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("unknown dimension \"colour\""));
    payrecon(tmp.path())
        .args(["approvals", "--lake", "lake", "--from", "2026-13-01"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a date"));
}

#[test]
fn cell_counts_reconcile_with_the_input_on_messy_data() {
    let tmp = tempfile::tempdir().unwrap();
    generated_lake(tmp.path(), &["--messy", "--orders", "600", "--seed", "7"]);
    let distinct = json_rows(
        tmp.path(),
        &[
            "query",
            "SELECT COUNT(DISTINCT charge_id) AS charges, \
             COUNT(DISTINCT COALESCE(merchant_reference_id, charge_permission_id)) AS orders \
             FROM charges",
        ],
    );
    let (charges, orders) = (n(&distinct[0], "charges"), n(&distinct[0], "orders"));
    assert!(charges > 600);
    for by in [
        "country,device,value_band",
        "reason_code,decline_class",
        "currency,day",
        "week,month,country",
    ] {
        let rows = json_rows(tmp.path(), &["approvals", "--by", by]);
        let sum = |k: &str| rows.iter().map(|r| n(r, k)).sum::<u64>();
        assert_eq!(sum("attempts"), charges, "--by {by}");
        assert_eq!(
            sum("approved") + sum("declined") + sum("pending") + sum("canceled"),
            charges
        );
        assert_eq!(sum("orders"), orders, "--by {by}");
    }
    // Unknown and empty reason codes appear as their own cells, never dropped.
    let rows = json_rows(tmp.path(), &["declines"]);
    assert!(rows.iter().any(|r| s(r, "decline_class") == "unknown"));
    let declined: u64 = rows.iter().map(|r| n(r, "declines")).sum();
    let total = json_rows(tmp.path(), &["approvals"]);
    assert_eq!(declined, n(&total[0], "declined"));
}

/// Compares a Rust report with a SQL file's result on the shared columns, row by row.
fn assert_same(rust: &[Row], sql: &[Row], what: &str) {
    assert_eq!(rust.len(), sql.len(), "{what}: row counts");
    assert!(!rust.is_empty(), "{what}: no rows");
    for (a, b) in rust.iter().zip(sql) {
        for (k, vb) in b {
            let va = a
                .get(k)
                .unwrap_or_else(|| panic!("{what}: Rust has no {k}"));
            match (va.as_f64(), vb.as_f64()) {
                (Some(x), Some(y)) => assert!(
                    (x - y).abs() <= 1e-12,
                    "{what}: {k}: {x} vs {y}\n{a:?}\n{b:?}"
                ),
                _ => assert_eq!(va, vb, "{what}: {k}\n{a:?}\n{b:?}"),
            }
        }
    }
}

#[test]
fn rust_transforms_and_the_sql_views_agree() {
    let tmp = tempfile::tempdir().unwrap();
    generated_lake(tmp.path(), &["--messy", "--orders", "1500", "--seed", "11"]);
    let q = |name: &str| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("queries")
            .join(name);
        json_rows(tmp.path(), &["query", path.to_str().unwrap()])
    };
    assert_same(
        &json_rows(tmp.path(), &["approvals", "--by", "country,device"]),
        &q("approval_by_country_device.sql"),
        "approval_by_country_device",
    );
    assert_same(
        &json_rows(
            tmp.path(),
            &["approvals", "--by", "country,device,value_band"],
        ),
        &q("approval_by_segment.sql"),
        "approval_by_segment",
    );
    assert_same(
        &json_rows(tmp.path(), &["declines"]),
        &q("decline_reasons.sql"),
        "decline_reasons",
    );
    assert_same(
        &json_rows(tmp.path(), &["recovery"]),
        &q("recovery_by_reason.sql"),
        "recovery_by_reason",
    );
    assert_same(
        &json_rows(tmp.path(), &["approvals", "--by", "day"]),
        &q("daily_trend.sql"),
        "daily_trend",
    );
}
