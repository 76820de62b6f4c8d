//! Invariants of ingest on generated data: no row lost (read = loaded + rejected + duplicates
//! per file), money conserved per currency between the files and the lake (checked against an
//! independent reading of the files), and crash safety at every commit step.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use common::*;
use payrecon::generate::{GenerateOptions, generate};
use payrecon::ingest::{FileStatus, IngestOptions, ingest};
use payrecon::lake::{Lake, LockMode};
use payrecon::model::Currency;
use payrecon::model::money::parse_minor;
use payrecon::model::schema::{CHARGES, DEPOSITS, FILES, ORDERS, REJECTS, SETTLEMENT_LINES};
use payrecon::model::time::parse_timestamp;
use proptest::prelude::*;

fn make_data(dir: &Path, orders: u64, seed: u64, messy: bool) {
    generate(&GenerateOptions {
        orders,
        seed,
        month: "2026-10".into(),
        months: 1,
        out: dir.to_path_buf(),
        messy,
        store: "Example Store".into(),
        bank_format: Default::default(),
    })
    .unwrap();
}

/// Σ per currency of a money column in the lake, in minor units.
fn lake_sums(
    lake: &Path,
    table: &'static payrecon::model::schema::TableDef,
    column: &str,
) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for r in rows(lake, table) {
        let cur = get(&r, "currency").unwrap().to_string();
        let c: Currency = cur.parse().unwrap();
        let v = parse_minor(get(&r, column).unwrap(), Currency::USD).unwrap()
            / 10_i64.pow(2 - c.exponent());
        *out.entry(cur).or_default() += v;
    }
    out
}

/// An independent reading of the generated files: which rows the lake should hold.
struct Oracle {
    rejected: HashSet<(String, u64)>,
}

impl Oracle {
    fn csv_rows(&self, path: &Path) -> Vec<(u64, HashMap<String, String>)> {
        let bytes = std::fs::read(path).unwrap();
        // The physical line a record's content starts on: csv reports the end of the previous
        // record, so step over the line ends before it and count the newlines.
        let line_of = |at: u64| {
            let mut i = at as usize;
            while i < bytes.len() && matches!(bytes[i], b'\r' | b'\n') {
                i += 1;
            }
            1 + bytes[..i].iter().filter(|&&b| b == b'\n').count() as u64
        };
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(&bytes[..]);
        let mut header: Option<Vec<String>> = None;
        let mut out = Vec::new();
        let settlement = path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("settlement");
        let mut rec = csv::StringRecord::new();
        while rdr.read_record(&mut rec).unwrap() {
            let line = line_of(rec.position().unwrap().byte());
            match &header {
                None => {
                    if !settlement || rec.get(0) == Some("TransactionPostedDate") {
                        header = Some(rec.iter().map(|s| s.to_string()).collect());
                    }
                }
                Some(h) => {
                    if self.rejected.contains(&(path.display().to_string(), line)) {
                        continue;
                    }
                    out.push((
                        line,
                        h.iter()
                            .cloned()
                            .zip(rec.iter().map(|s| s.to_string()))
                            .collect(),
                    ));
                }
            }
        }
        out
    }
}

fn check_lake_against_files(data: &Path, lake: &Path) {
    let rejected: HashSet<(String, u64)> = rows(lake, &REJECTS)
        .iter()
        .map(|r| {
            (
                get(r, "source_file").unwrap().to_string(),
                get(r, "source_line").unwrap().parse().unwrap(),
            )
        })
        .collect();
    let oracle = Oracle { rejected };
    let mut files: Vec<PathBuf> = std::fs::read_dir(data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let name = |p: &Path| p.file_name().unwrap().to_str().unwrap().to_string();

    // Settlement lines: every distinct line once; Σ net per currency.
    let mut seen = HashSet::new();
    let mut want_net: BTreeMap<String, i64> = BTreeMap::new();
    for f in files.iter().filter(|f| name(f).starts_with("settlement")) {
        for (_, r) in oracle.csv_rows(f) {
            let cur: Currency = r["CurrencyCode"].parse().unwrap();
            let mut key: Vec<(String, String)> =
                r.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
            key.sort();
            // Identity after parsing: timestamps and amounts normalised.
            for (k, v) in key.iter_mut() {
                if k == "TransactionPostedDate" {
                    *v = parse_timestamp(v).unwrap().to_rfc3339();
                } else if k.contains("Amount") || k.contains("Fee") {
                    *v = if v.is_empty() {
                        "0".into()
                    } else {
                        parse_minor(v, cur).unwrap().to_string()
                    };
                }
            }
            if seen.insert(key) {
                *want_net.entry(cur.to_string()).or_default() +=
                    parse_minor(&r["NetTransactionAmount"], cur).unwrap();
            }
        }
    }
    assert_eq!(
        lake_sums(lake, &SETTLEMENT_LINES, "net_transaction_amount"),
        want_net,
        "settlement net per currency"
    );

    // Deposits: unique ids; Σ amount per currency.
    let mut want_dep: BTreeMap<String, i64> = BTreeMap::new();
    for f in files.iter().filter(|f| name(f).starts_with("bank")) {
        for (_, r) in oracle.csv_rows(f) {
            let cur: Currency = r["currency"].parse().unwrap();
            *want_dep.entry(cur.to_string()).or_default() +=
                parse_minor(&r["amount"], cur).unwrap();
        }
    }
    assert_eq!(
        lake_sums(lake, &DEPOSITS, "amount"),
        want_dep,
        "deposits per currency"
    );

    // Orders: the file read later wins.
    let mut orders: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for f in files.iter().filter(|f| name(f).starts_with("orders")) {
        for (_, r) in oracle.csv_rows(f) {
            let cur: Currency = r["currency"].parse().unwrap();
            orders.insert(
                r["order_id"].clone(),
                (
                    cur.to_string(),
                    parse_minor(&r["order_total"], cur).unwrap(),
                ),
            );
        }
    }
    let mut want_orders: BTreeMap<String, i64> = BTreeMap::new();
    for (cur, v) in orders.values() {
        *want_orders.entry(cur.clone()).or_default() += v;
    }
    assert_eq!(
        lake_sums(lake, &ORDERS, "order_total"),
        want_orders,
        "orders per currency"
    );

    // Charges: the greatest LastUpdatedTimestamp wins, ties to the later file and line.
    // charge id -> (rank, currency, charge amount, capture amount)
    type Latest = ((i64, usize, u64), String, i64, Option<i64>);
    let mut charges: HashMap<String, Latest> = HashMap::new();
    for (fi, f) in files
        .iter()
        .enumerate()
        .filter(|(_, f)| name(f).starts_with("charges"))
    {
        let parsed: Vec<(u64, HashMap<String, String>)> = if name(f).ends_with(".jsonl") {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .enumerate()
                .filter(|(i, l)| {
                    !l.trim().is_empty()
                        && !oracle
                            .rejected
                            .contains(&(f.display().to_string(), *i as u64 + 1))
                })
                .map(|(i, l)| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    let s = |p: &str| {
                        v.pointer(p)
                            .and_then(|x| x.as_str())
                            .unwrap_or("")
                            .to_string()
                    };
                    let m: HashMap<String, String> = [
                        ("ChargeId", s("/chargeId")),
                        (
                            "LastUpdatedTimestamp",
                            s("/statusDetails/lastUpdatedTimestamp"),
                        ),
                        ("ChargeAmount", s("/chargeAmount/amount")),
                        ("CaptureAmount", s("/captureAmount/amount")),
                        ("CurrencyCode", s("/chargeAmount/currencyCode")),
                    ]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
                    (i as u64 + 1, m)
                })
                .collect()
        } else {
            oracle.csv_rows(f)
        };
        for (line, r) in parsed {
            let cur: Currency = r["CurrencyCode"].parse().unwrap();
            let rank = (
                parse_timestamp(&r["LastUpdatedTimestamp"])
                    .unwrap()
                    .timestamp_micros(),
                fi,
                line,
            );
            let capture = Some(r["CaptureAmount"].as_str())
                .filter(|s| !s.is_empty())
                .map(|s| parse_minor(s, cur).unwrap());
            let entry = (
                rank,
                cur.to_string(),
                parse_minor(&r["ChargeAmount"], cur).unwrap(),
                capture,
            );
            match charges.get(&r["ChargeId"]) {
                Some(old) if old.0 >= rank => {}
                _ => {
                    charges.insert(r["ChargeId"].clone(), entry);
                }
            }
        }
    }
    let (mut want_amount, mut want_capture): (BTreeMap<String, i64>, BTreeMap<String, i64>) =
        Default::default();
    for (_, cur, amount, capture) in charges.values() {
        *want_amount.entry(cur.clone()).or_default() += amount;
        *want_capture.entry(cur.clone()).or_default() += capture.unwrap_or(0);
    }
    assert_eq!(
        lake_sums(lake, &CHARGES, "charge_amount"),
        want_amount,
        "charge amounts per currency"
    );
    let lake_capture: BTreeMap<String, i64> = {
        let mut out = BTreeMap::new();
        for r in rows(lake, &CHARGES) {
            let cur = get(&r, "currency").unwrap().to_string();
            let c: Currency = cur.parse().unwrap();
            let v = get(&r, "capture_amount")
                .map(|v| parse_minor(v, Currency::USD).unwrap() / 10_i64.pow(2 - c.exponent()))
                .unwrap_or(0);
            *out.entry(cur).or_default() += v;
        }
        out
    };
    assert_eq!(lake_capture, want_capture, "capture amounts per currency");
    assert_eq!(
        rows(lake, &CHARGES).len(),
        charges.len(),
        "one row per charge id"
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, .. ProptestConfig::default() })]

    #[test]
    fn rows_and_money_are_conserved(seed in 0u64..1_000_000, orders in 50u64..400, messy in any::<bool>(), split in 1usize..4, spill in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path().join("data");
        make_data(&data, orders, seed, messy);
        let lake_dir = tmp.path().join("lake");
        // Ingest in `split` batches (nightly-style), in file-name order.
        let mut files: Vec<PathBuf> = std::fs::read_dir(&data).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let chunk = files.len().div_ceil(split);
        let mut total_read = 0;
        for batch in files.chunks(chunk) {
            // Waits: another test's child process may hold a copy of the lock's descriptor for
            // a moment (between its fork and its exec), after this loop's last handle closed.
            let lake = Lake::open(&lake_dir, LockMode::Wait).unwrap();
            // With no memory budget every chunk goes through a spill file on disk.
            let opts = IngestOptions { memory_budget: if spill { 0 } else { 64 << 20 }, ..IngestOptions::default() };
            let report = ingest(&lake, batch, &opts).unwrap();
            for f in &report.files {
                prop_assert_eq!(&f.status, &FileStatus::Loaded, "{}", f.path);
                prop_assert_eq!(f.rows_read, f.loaded + f.rejected + f.duplicates, "{}", f.path);
                total_read += f.rows_read;
            }
        }
        let manifest = rows(&lake_dir, &FILES);
        let sum = |c: &str| manifest.iter().map(|r| get(r, c).unwrap().parse::<u64>().unwrap()).sum::<u64>();
        prop_assert_eq!(sum("rows_read"), total_read);
        prop_assert_eq!(sum("rows_read"), sum("rows_loaded") + sum("rows_rejected") + sum("rows_duplicate"));
        prop_assert_eq!(sum("rows_rejected") as usize, rows(&lake_dir, &REJECTS).len());
        if !messy {
            prop_assert_eq!(sum("rows_rejected"), 0);
        }
        check_lake_against_files(&data, &lake_dir);
    }
}

#[test]
fn split_ingest_equals_one_ingest() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_data(&data, 300, 7, true);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&data)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    let one = tmp.path().join("one");
    ingest(
        &Lake::open(&one, LockMode::Fail).unwrap(),
        &files,
        &IngestOptions::default(),
    )
    .unwrap();
    let many = tmp.path().join("many");
    for f in &files {
        ingest(
            &Lake::open(&many, LockMode::Wait).unwrap(),
            std::slice::from_ref(f),
            &IngestOptions::default(),
        )
        .unwrap();
    }
    // Same rows, same provenance, same bytes: except the append-only files/rejects tables,
    // which are split by ingest run.
    let data_tables = |root: &Path| {
        snapshot(root)
            .into_iter()
            .filter(|(p, _)| !p.starts_with("files") && !p.starts_with("rejects"))
            .collect::<Vec<_>>()
    };
    assert_eq!(data_tables(&one), data_tables(&many));
    assert_eq!(rows(&one, &FILES), rows(&many, &FILES));
    assert_eq!(rows(&one, &REJECTS), rows(&many, &REJECTS));
}

#[test]
fn killed_at_any_point_the_next_ingest_finishes_the_job() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    make_data(&data, 200, 11, true);
    let reference = tmp.path().join("reference");
    payrecon(tmp.path())
        .args(["ingest", "--lake"])
        .arg(&reference)
        .arg(&data)
        .assert()
        .code(1);
    let want = snapshot(&reference);
    for point in [
        "after-read",
        "after-merge",
        "before-journal",
        "after-journal",
        "mid-apply",
        "before-cleanup",
    ] {
        let lake = tmp.path().join(format!("lake-{point}"));
        let out = payrecon(tmp.path())
            .args(["ingest", "--lake"])
            .arg(&lake)
            .arg(&data)
            .env("PAYRECON_CRASH_AT", point)
            .output()
            .unwrap();
        assert!(
            !out.status.success(),
            "{point}: the process should have died"
        );
        // Whatever a reader sees after recovery is the lake before or after the commit.
        let recovered = {
            drop(Lake::open(&lake, LockMode::Wait).unwrap());
            snapshot(&lake)
        };
        let committed = matches!(point, "after-journal" | "mid-apply" | "before-cleanup");
        if committed {
            assert_eq!(
                recovered, want,
                "{point}: recovery should complete the commit"
            );
        } else {
            // Only what a new lake holds: the marker and the empty append-only tables.
            let fresh = [
                "_payrecon.json",
                "rejects/part-00000000.parquet",
                "files/part-00000000.parquet",
            ];
            assert!(
                recovered
                    .iter()
                    .all(|(p, _)| fresh.iter().any(|f| p == Path::new(f))),
                "{point}: nothing should be visible: {:?}",
                recovered.iter().map(|x| &x.0).collect::<Vec<_>>()
            );
        }
        payrecon(tmp.path())
            .args(["ingest", "--lake"])
            .arg(&lake)
            .arg(&data)
            .assert()
            .code(if committed { 0 } else { 1 });
        assert_eq!(
            snapshot(&lake),
            want,
            "{point}: the next run should give the uninterrupted result"
        );
    }
}

#[test]
fn a_second_writer_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let lake_dir = tmp.path().join("lake");
    let _held = Lake::open(&lake_dir, LockMode::Fail).unwrap();
    payrecon(tmp.path())
        .args(["ingest", "--lake"])
        .arg(&lake_dir)
        .arg(fixture("ingest/bom"))
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "in use by another payrecon process",
        ));
}
