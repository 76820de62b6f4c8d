//! End-to-end tests of `payrecon reconcile` and `payrecon close`: one small world per status of
//! `spec/reconciliation.md`, each built from a clean base by one change, asserting the exact
//! item ids and amounts.
//!
//! The clean base: order `ORD-1` (100.00 USD) paid by charge `C1` (captured 2026-10-01T10:05Z),
//! settled on settlement `5001` (Capture line, fees −3.20, net 96.80; a Transfer of −96.80 at the
//! settlement end 2026-10-02T00:00Z), and paid into the bank as `BT1` (96.80, 2026-10-04,
//! reference `AMAZON PAYMENTS INC 5001`). Cut-off 2026-10-20 unless a test says otherwise.

mod common;

use std::path::Path;

use common::*;

#[derive(Clone)]
struct SLine {
    posted: &'static str,
    txn: &'static str,
    seller_ref: &'static str,
    ttype: &'static str,
    seller_order: &'static str,
    amount: i64,
    pct: i64,
    fixed: i64,
    /// `None`: amount + pct + fixed.
    net: Option<i64>,
}

impl SLine {
    fn capture(txn: &'static str, amount: i64) -> SLine {
        SLine {
            posted: "2026-10-01T12:00:00-0000",
            txn,
            seller_ref: "ORD-1-1",
            ttype: "Capture",
            seller_order: "ORD-1",
            amount,
            pct: -290,
            fixed: -30,
            net: None,
        }
    }
}

/// A small world; amounts in cents.
#[derive(Clone)]
struct World {
    orders: Vec<String>,
    charges: Vec<String>,
    refunds: Vec<String>,
    lines: Vec<SLine>,
    /// Override of the Transfer line's net amount.
    transfer: Option<i64>,
    deposits: Vec<String>,
    /// Add the payout deposit for the transfer.
    pay_out: bool,
}

fn cents(v: i64) -> String {
    format!(
        "{}{}.{:02}",
        if v < 0 { "-" } else { "" },
        v.abs() / 100,
        v.abs() % 100
    )
}

impl World {
    fn clean() -> World {
        World {
            orders: vec!["ORD-1,2026-10-01T09:59:00Z,US,desktop,100.00,USD,placed,P1".into()],
            charges: vec![
                "C1,P1,ORD-1,2026-10-01T10:00:00Z,2026-10-01T10:05:00Z,Captured,,100.00,100.00,,USD,ORD-1-1,Live"
                    .into(),
            ],
            refunds: vec![],
            lines: vec![SLine::capture("C1", 10_000)],
            transfer: None,
            deposits: vec![],
            pay_out: true,
        }
    }

    fn write(&self, dir: &Path) {
        let inbox = dir.join("in");
        std::fs::create_dir_all(&inbox).unwrap();
        let w = |name: &str, text: String| std::fs::write(inbox.join(name), text).unwrap();
        w(
            "orders.csv",
            format!(
                "order_id,created_at,country,device,order_total,currency,status,charge_permission_id\n{}\n",
                self.orders.join("\n")
            ),
        );
        w(
            "charges.csv",
            format!(
                "ChargeId,ChargePermissionId,MerchantReferenceId,CreationTimestamp,LastUpdatedTimestamp,State,ReasonCode,ChargeAmount,CaptureAmount,RefundedAmount,CurrencyCode,SellerReferenceId,ReleaseEnvironment\n{}\n",
                self.charges.join("\n")
            ),
        );
        if !self.refunds.is_empty() {
            w(
                "refunds.csv",
                format!(
                    "RefundId,ChargeId,CreationTimestamp,LastUpdatedTimestamp,State,ReasonCode,RefundAmount,CurrencyCode\n{}\n",
                    self.refunds.join("\n")
                ),
            );
        }
        if self.lines.is_empty() {
            // No settlement at all (nothing was captured, or nothing settled yet).
            return self.finish(dir, Vec::new(), None);
        }
        let mut body = String::new();
        let mut sum = 0;
        for l in &self.lines {
            let fee = l.pct + l.fixed;
            let net = l.net.unwrap_or(l.amount + fee);
            sum += net;
            body.push_str(&format!(
                "\"{}\",\"5001\",\"{}\",\"{}\",\"{}\",\"P1\",\"{}\",\"Store\",\"USD\",\"\",\"{}\",\"{}\",\"{}\",\"{}\",\"{}\"\n",
                l.posted,
                l.txn,
                l.seller_ref,
                l.ttype,
                l.seller_order,
                cents(l.amount),
                cents(l.pct),
                cents(l.fixed),
                cents(fee),
                cents(net)
            ));
        }
        let transfer = self.transfer.unwrap_or(-sum);
        body.push_str(&format!(
            "\"2026-10-02T00:00:00-0000\",\"5001\",\"\",\"\",\"{}\",\"\",\"\",\"Store\",\"USD\",\"\",\"{}\",\"0.00\",\"0.00\",\"0.00\",\"{}\"\n",
            if transfer <= 0 { "Transfer" } else { "Debt" },
            cents(transfer),
            cents(transfer)
        ));
        w(
            "settlement-5001.txt",
            format!(
                "\"SellerId\",\"A1\"\n\"SettlementStartDate\",\"2026-10-01T00:00:00-0000\"\n\"SettlementEndDate\",\"2026-10-02T00:00:00-0000\"\n\n\"TransactionPostedDate\",\"SettlementId\",\"AmazonTransactionId\",\"SellerReferenceId\",\"TransactionType\",\"AmazonOrderReferenceId\",\"SellerOrderId\",\"StoreName\",\"CurrencyCode\",\"TransactionDescription\",\"TransactionAmount\",\"TransactionPercentageFee\",\"TransactionFixedFee\",\"TotalTransactionFee\",\"NetTransactionAmount\"\n{body}"
            ),
        );
        self.finish(dir, self.deposits.clone(), Some(transfer));
    }

    /// Writes the bank file (with the payout of `transfer` when there is one) and ingests.
    fn finish(&self, dir: &Path, mut deposits: Vec<String>, transfer: Option<i64>) {
        let inbox = dir.join("in");
        let w = |name: &str, text: String| std::fs::write(inbox.join(name), text).unwrap();
        if let Some(t) = transfer.filter(|&t| self.pay_out && t < 0) {
            deposits.push(format!(
                "2026-10-04,{},USD,AMAZON PAYMENTS INC 5001,BT1",
                cents(-t)
            ));
        }
        if !deposits.is_empty() {
            w(
                "bank.csv",
                format!(
                    "booking_date,amount,currency,reference,bank_transaction_id\n{}\n",
                    deposits.join("\n")
                ),
            );
        }
        payrecon(dir)
            .args(["ingest", "--lake", "lake", "in"])
            .assert()
            .success();
    }

    /// Writes, ingests, reconciles at `cutoff`; returns the results (status, item type, item
    /// id, expected, actual, counterparts) and the exit code.
    fn reconcile(&self, cutoff: &str) -> (Vec<[String; 6]>, i32) {
        let tmp = tempfile::tempdir().unwrap();
        self.write(tmp.path());
        let out = payrecon(tmp.path())
            .args([
                "reconcile",
                "--lake",
                "lake",
                "--csv",
                "--out",
                "out",
                "--cutoff",
                cutoff,
            ])
            .output()
            .unwrap();
        let code = out.status.code().unwrap();
        assert!(
            code == 0 || code == 1,
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut rdr = csv::Reader::from_path(tmp.path().join("out/results.csv")).unwrap();
        let headers = rdr.headers().unwrap().clone();
        let col = |name: &str| headers.iter().position(|h| h == name).unwrap();
        let cols = [
            col("status"),
            col("item_type"),
            col("item_id"),
            col("expected_amount"),
            col("actual_amount"),
            col("counterpart_ids"),
        ];
        let rows = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                cols.map(|c| r[c].to_string())
            })
            .collect();
        (rows, code)
    }
}

const CUTOFF: &str = "2026-10-20T00:00:00Z";

/// The results that are exceptions, as (status, item type, item id, expected, actual, counterparts).
fn exceptions(rows: &[[String; 6]]) -> Vec<[&str; 6]> {
    const FINE: &[&str] = &[
        "order_matched",
        "order_cancelled",
        "order_awaiting_capture",
        "settled",
        "settled_by_reference",
        "in_transit",
        "settlement_balanced",
        "line_ok",
        "deposited",
        "deposit_in_transit",
        "not_amazon_pay",
        "no_payout",
    ];
    rows.iter()
        .filter(|r| !FINE.contains(&r[0].as_str()))
        .map(|r| r.each_ref().map(String::as_str))
        .collect()
}

fn status_of<'a>(rows: &'a [[String; 6]], item_type: &str, id: &str) -> Vec<&'a str> {
    rows.iter()
        .filter(|r| r[1] == item_type && r[2] == id)
        .map(|r| r[0].as_str())
        .collect()
}

#[test]
fn clean_world_has_one_matching_status_per_item_and_layer() {
    let (rows, code) = World::clean().reconcile(CUTOFF);
    assert_eq!(code, 0);
    assert!(exceptions(&rows).is_empty(), "{rows:?}");
    assert_eq!(status_of(&rows, "order", "ORD-1"), ["order_matched"]);
    assert_eq!(status_of(&rows, "charge", "C1"), ["settled"]);
    // The capture line: settled (layer 2) and its arithmetic (layer 3).
    assert_eq!(
        status_of(&rows, "settlement_line", "C1"),
        ["settled", "line_ok"]
    );
    assert_eq!(status_of(&rows, "settlement_line", "5001:7"), ["line_ok"]);
    assert_eq!(
        status_of(&rows, "settlement", "5001"),
        ["settlement_balanced", "deposited"]
    );
    assert_eq!(status_of(&rows, "deposit", "BT1"), ["deposited"]);
    let order = rows.iter().find(|r| r[2] == "ORD-1").unwrap();
    assert_eq!(
        (&order[3][..], &order[4][..], &order[5][..]),
        ("100.00", "100.00", "C1")
    );
}

#[test]
fn refund_exceeds_capture() {
    let mut w = World::clean();
    w.refunds
        .push("R1,C1,2026-10-01T11:00:00Z,2026-10-01T11:30:00Z,Refunded,,120.00,USD".into());
    let mut refund = SLine::capture("R1", -12_000);
    refund.ttype = "Refund";
    refund.pct = 0;
    refund.fixed = 0;
    w.lines.push(refund);
    let (rows, code) = w.reconcile(CUTOFF);
    assert_eq!(code, 1);
    assert_eq!(
        exceptions(&rows),
        [[
            "refund_exceeds_capture",
            "order",
            "ORD-1",
            "100.00",
            "100.00",
            "C1;R1"
        ]]
    );
    assert_eq!(status_of(&rows, "refund", "R1"), ["settled"]);
}

#[test]
fn over_and_under_captured_orders() {
    let mut w = World::clean();
    w.orders[0] = w.orders[0].replace("100.00", "90.00");
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [[
            "order_over_captured",
            "order",
            "ORD-1",
            "90.00",
            "100.00",
            "C1"
        ]]
    );
    let mut w = World::clean();
    w.orders[0] = w.orders[0].replace("100.00", "120.00");
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [[
            "order_under_captured",
            "order",
            "ORD-1",
            "120.00",
            "100.00",
            "C1"
        ]]
    );
}

/// The base with C1 in another state and no settlement line for it.
fn uncaptured(state: &str, order_status: &str) -> World {
    let mut w = World::clean();
    w.charges[0] = w.charges[0]
        .replace("Captured,,100.00,100.00", &format!("{state},,100.00,"))
        .replace("ORD-1-1", "");
    w.orders[0] = w.orders[0].replace("placed", order_status);
    w.lines.clear();
    w
}

#[test]
fn awaiting_capture_is_pending_and_not_captured_is_a_break() {
    let (rows, code) = uncaptured("Authorized", "placed").reconcile(CUTOFF);
    assert_eq!(
        status_of(&rows, "order", "ORD-1"),
        ["order_awaiting_capture"]
    );
    assert_eq!(status_of(&rows, "charge", "C1"), Vec::<&str>::new());
    assert!(exceptions(&rows).is_empty());
    assert_eq!(code, 0);
    let (rows, _) = uncaptured("Declined", "placed").reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [[
            "order_not_captured",
            "order",
            "ORD-1",
            "100.00",
            "0.00",
            "C1"
        ]]
    );
    // A cancelled order with nothing captured is fine.
    let (rows, code) = uncaptured("Canceled", "cancelled").reconcile(CUTOFF);
    assert_eq!(status_of(&rows, "order", "ORD-1"), ["order_cancelled"]);
    assert!(exceptions(&rows).is_empty());
    assert_eq!(code, 0);
}

#[test]
fn capture_without_order() {
    let mut w = World::clean();
    w.orders[0] = "ORD-2,2026-10-01T09:59:00Z,US,desktop,5.00,USD,cancelled,P2".into();
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [[
            "capture_without_order",
            "charge",
            "C1",
            "",
            "100.00",
            "ORD-1"
        ]]
    );
    assert_eq!(
        status_of(&rows, "charge", "C1"),
        ["capture_without_order", "settled"]
    );
}

#[test]
fn settled_by_reference_when_the_line_has_no_transaction_id() {
    let mut w = World::clean();
    w.lines[0].txn = "";
    let (rows, code) = w.reconcile(CUTOFF);
    assert_eq!(code, 0);
    assert_eq!(status_of(&rows, "charge", "C1"), ["settled_by_reference"]);
    assert_eq!(
        status_of(&rows, "settlement_line", "5001:6"),
        ["settled_by_reference", "line_ok"]
    );
    let c1 = rows.iter().find(|r| r[2] == "C1").unwrap();
    assert_eq!(c1[5], "5001:6");
    // By order id when the seller reference differs.
    let mut w = World::clean();
    w.lines[0].txn = "";
    w.lines[0].seller_ref = "OTHER";
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(status_of(&rows, "charge", "C1"), ["settled_by_reference"]);
    // Outside the ±2-day window: no match.
    let mut w = World::clean();
    w.lines[0].txn = "";
    w.lines[0].posted = "2026-10-04T12:00:00-0000";
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        status_of(&rows, "charge", "C1"),
        ["missing_from_settlement"]
    );
    assert_eq!(
        status_of(&rows, "settlement_line", "5001:6"),
        ["unknown_settlement_line", "line_ok"]
    );
}

#[test]
fn amount_mismatch_names_both_sides() {
    let mut w = World::clean();
    w.lines[0].amount = 9_900;
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [
            [
                "amount_mismatch",
                "charge",
                "C1",
                "99.00",
                "100.00",
                "5001:6"
            ],
            [
                "amount_mismatch",
                "settlement_line",
                "C1",
                "",
                "99.00",
                "C1"
            ],
        ]
    );
}

#[test]
fn duplicate_settlement() {
    let mut w = World::clean();
    let mut again = SLine::capture("C1", 10_000);
    again.posted = "2026-10-01T13:00:00-0000";
    w.lines.push(again);
    let (rows, _) = w.reconcile(CUTOFF);
    let ex = exceptions(&rows);
    assert_eq!(
        ex[0],
        [
            "duplicate_settlement",
            "charge",
            "C1",
            "100.00",
            "100.00",
            "5001:6;5001:7"
        ]
    );
    assert_eq!(ex.len(), 3, "{ex:?}");
    assert!(
        ex[1..]
            .iter()
            .all(|r| r[0] == "duplicate_settlement" && r[1] == "settlement_line" && r[2] == "C1")
    );
}

#[test]
fn in_transit_then_missing_from_settlement() {
    let mut w = World::clean();
    w.lines.clear();
    w.pay_out = false;
    // Captured on the 1st; cut-off on the 3rd is within the 3-day settlement lag.
    let (rows, _) = w.reconcile("2026-10-03T00:00:00Z");
    assert_eq!(status_of(&rows, "charge", "C1"), ["in_transit"]);
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        status_of(&rows, "charge", "C1"),
        ["missing_from_settlement"]
    );
    let ex = exceptions(&rows);
    assert_eq!(
        ex,
        [["missing_from_settlement", "charge", "C1", "", "100.00", ""]]
    );
}

#[test]
fn unknown_settlement_line() {
    let mut w = World::clean();
    let mut stray = SLine::capture("P99-UNKNOWN", 500);
    stray.seller_ref = "";
    stray.seller_order = "";
    w.lines.push(stray);
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [[
            "unknown_settlement_line",
            "settlement_line",
            "P99-UNKNOWN",
            "",
            "5.00",
            ""
        ]]
    );
}

#[test]
fn ambiguous_fallback_never_guesses() {
    let mut w = World::clean();
    w.lines[0].txn = "";
    let mut twin = SLine::capture("", 10_000);
    twin.posted = "2026-10-01T14:00:00-0000";
    w.lines.push(twin);
    let (rows, _) = w.reconcile(CUTOFF);
    let ex = exceptions(&rows);
    assert_eq!(
        ex,
        [
            ["ambiguous", "charge", "C1", "", "100.00", "5001:6;5001:7"],
            ["ambiguous", "settlement_line", "5001:6", "", "100.00", "C1"],
            ["ambiguous", "settlement_line", "5001:7", "", "100.00", "C1"],
        ]
    );
}

#[test]
fn settlement_imbalance_and_line_arithmetic() {
    let mut w = World::clean();
    w.transfer = Some(-9_679);
    let (rows, _) = w.reconcile(CUTOFF);
    let ex = exceptions(&rows);
    assert_eq!(
        ex[0],
        [
            "settlement_imbalance",
            "settlement",
            "5001",
            "0.00",
            "0.01",
            ""
        ]
    );
    let mut w = World::clean();
    w.lines[0].net = Some(9_690);
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [[
            "line_arithmetic_error",
            "settlement_line",
            "C1",
            "96.80",
            "96.90",
            "5001"
        ]]
    );
}

#[test]
fn payout_statuses() {
    // A deposit that names the settlement but with another amount.
    let mut w = World::clean();
    w.pay_out = false;
    w.deposits
        .push("2026-10-04,96.00,USD,AMAZON PAYMENTS INC 5001,BT7".into());
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [
            [
                "deposit_amount_mismatch",
                "settlement",
                "5001",
                "96.80",
                "96.00",
                "BT7"
            ],
            [
                "deposit_amount_mismatch",
                "deposit",
                "BT7",
                "",
                "96.00",
                "5001"
            ],
        ]
    );
    // No deposit yet: in transit within the 7-day lag, then missing.
    let mut w = World::clean();
    w.pay_out = false;
    let (rows, _) = w.reconcile("2026-10-05T00:00:00Z");
    assert_eq!(
        status_of(&rows, "settlement", "5001"),
        ["settlement_balanced", "deposit_in_transit"]
    );
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [["missing_deposit", "settlement", "5001", "96.80", "", ""]]
    );
    // An Amazon Pay deposit that pays no transfer, and an unrelated bank line.
    let mut w = World::clean();
    w.deposits
        .push("2026-10-05,12.34,USD,AMAZON PAYMENTS INC 777,BT8".into());
    w.deposits.push("2026-10-05,-500.00,USD,RENT,BT9".into());
    let (rows, _) = w.reconcile(CUTOFF);
    assert_eq!(
        exceptions(&rows),
        [["unexpected_deposit", "deposit", "BT8", "", "12.34", ""]]
    );
    assert_eq!(status_of(&rows, "deposit", "BT9"), ["not_amazon_pay"]);
}

#[test]
fn exceptions_csv_is_sorted_and_aged() {
    let mut w = World::clean();
    w.pay_out = false;
    w.orders[0] = w.orders[0].replace("100.00", "90.00");
    let tmp = tempfile::tempdir().unwrap();
    w.write(tmp.path());
    payrecon(tmp.path())
        .args(["reconcile", "--lake", "lake", "--cutoff", CUTOFF])
        .assert()
        .code(1);
    let text =
        std::fs::read_to_string(tmp.path().join("reports/reconcile/exceptions.csv")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "status,item_type,item_id,currency,expected_amount,actual_amount,difference,item_date,age_days,age_bucket,counterpart_ids,layer,source_file,source_line"
    );
    assert_eq!(lines.len(), 3);
    assert!(
        lines[1].starts_with("missing_deposit,settlement,5001,USD,96.80,,,2026-10-02,18,8-30,,4"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with(
            "order_over_captured,order,ORD-1,USD,90.00,100.00,10.00,2026-10-01,19,8-30,C1,1"
        ),
        "{}",
        lines[2]
    );
}

#[test]
fn month_close_pack_agrees_with_the_sql_summary_and_ties() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generated_lake(dir, &["--orders", "300", "--seed", "9"]);
    let out = payrecon(dir)
        .args([
            "close", "--lake", "lake", "--month", "2026-10", "--out", "close",
        ])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)));
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.contains(": ties") && !md.contains("DOES NOT TIE"),
        "{md}"
    );
    // Roll-forward figures from the pack's CSV ...
    let mut pack = std::collections::BTreeMap::new();
    let mut rdr = csv::Reader::from_path(dir.join("close/close-2026-10-rollforward.csv")).unwrap();
    for r in rdr.records() {
        let r = r.unwrap();
        pack.insert((r[0].to_string(), r[1].to_string()), r[3].to_string());
    }
    // ... equal the portable SQL's month summary.
    let sql = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries/month_close_summary.sql");
    let out = payrecon(dir)
        .args(["query", "--lake", "lake", "--format", "csv"])
        .arg(&sql)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let mut rdr = csv::Reader::from_reader(text.as_bytes());
    let headers = rdr.headers().unwrap().clone();
    let mut compared = 0;
    for r in rdr.records() {
        let r = r.unwrap();
        if (&r[1], &r[2]) != ("2026", "10") {
            continue;
        }
        for figure in [
            "captures",
            "refunds",
            "chargebacks_and_claims",
            "adjustments",
            "fees",
            "transfers_out",
        ] {
            let k = headers.iter().position(|h| h == figure).unwrap();
            assert_eq!(
                pack[&(r[0].to_string(), figure.to_string())],
                r[k],
                "{} {figure}",
                &r[0]
            );
            compared += 1;
        }
    }
    assert!(compared >= 6 * 3, "{compared}");
}

#[test]
fn output_files_are_ordinary_files() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    World::clean().write(tmp.path());
    payrecon(tmp.path())
        .args(["reconcile", "--lake", "lake", "--out", "out"])
        .assert()
        .success();
    let results: Vec<String> = common::snapshot(&tmp.path().join("out/results"))
        .into_iter()
        .map(|(p, _)| format!("results/{}", p.display()))
        .collect();
    assert!(results.len() > 3, "{results:?}");
    for f in results.iter().map(String::as_str).chain(["exceptions.csv"]) {
        let mode = std::fs::metadata(tmp.path().join("out").join(f))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o044,
            0o044,
            "{f}: {mode:o} is not readable by others"
        );
    }
}

impl World {
    /// Writes, ingests, reconciles at `cutoff`; returns `exceptions.csv` as (status, item type,
    /// item id) and the summary `reconcile` printed.
    fn exception_rows(&self, cutoff: &str) -> (Vec<[String; 3]>, String) {
        let tmp = tempfile::tempdir().unwrap();
        self.write(tmp.path());
        let out = payrecon(tmp.path())
            .args([
                "reconcile",
                "--lake",
                "lake",
                "--out",
                "out",
                "--cutoff",
                cutoff,
            ])
            .output()
            .unwrap();
        let mut rdr = csv::Reader::from_path(tmp.path().join("out/exceptions.csv")).unwrap();
        let rows = rdr
            .records()
            .map(|r| {
                let r = r.unwrap();
                [r[0].to_string(), r[1].to_string(), r[2].to_string()]
            })
            .collect();
        (rows, String::from_utf8_lossy(&out.stdout).into_owned())
    }
}

#[test]
fn one_exception_row_per_discrepancy() {
    // The deposit of a mismatch carries the status in the results, but the exception is the
    // settlement's, once.
    let mut w = World::clean();
    w.pay_out = false;
    w.deposits
        .push("2026-10-04,96.00,USD,AMAZON PAYMENTS INC 5001,BT7".into());
    let (ex, _) = w.exception_rows(CUTOFF);
    assert_eq!(
        ex,
        [["deposit_amount_mismatch", "settlement", "5001"].map(String::from)]
    );
    // An ambiguous charge is one exception, not one per candidate line.
    let mut w = World::clean();
    w.lines[0].txn = "";
    let mut twin = SLine::capture("", 10_000);
    twin.posted = "2026-10-01T14:00:00-0000";
    w.lines.push(twin);
    let (ex, summary) = w.exception_rows(CUTOFF);
    assert_eq!(ex, [["ambiguous", "charge", "C1"].map(String::from)]);
    assert!(
        summary.contains("1 exception") || summary.contains(" 1 "),
        "{summary}"
    );
}

#[test]
fn only_lines_that_name_amazon_pay_can_be_unexpected() {
    let mut w = World::clean();
    for (i, reference) in [
        "AMAZON WEB SERVICES AWS INVOICE 123",
        "AMAZON MARKETPLACE DE",
        "AMZN MKTP US*2K4",
        "AMAZON.COM SVCS",
        "PAYROLL OCTOBER",
        "STRIPE PAYOUT",
        "amazon  payments europe s.c.a. 999",
        "AMZN PAY GB 4711",
    ]
    .iter()
    .enumerate()
    {
        w.deposits
            .push(format!("2026-10-05,-{}.00,USD,{reference},BX{i}", 10 + i));
    }
    let (rows, _) = w.reconcile(CUTOFF);
    let ex = exceptions(&rows);
    let ids: Vec<&str> = ex.iter().map(|r| r[2]).collect();
    assert_eq!(ids, ["BX6", "BX7"], "{ex:?}");
    for i in 0..6 {
        assert_eq!(
            status_of(&rows, "deposit", &format!("BX{i}")),
            ["not_amazon_pay"]
        );
    }
}
