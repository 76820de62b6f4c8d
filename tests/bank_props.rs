//! The same generated bank lines written as payrecon CSV, camt.053, MT940 and BAI2 load into
//! the same `deposits` rows and reconcile to byte-identical results and exceptions (issue 22).

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{generated_lake, payrecon, project, rows};
use payrecon::model::schema::DEPOSITS;
use proptest::prelude::*;

const FORMATS: [&str; 4] = ["csv", "camt053", "mt940", "bai2"];

/// What one format's data set gives: deposits rows, every results file, the exceptions.
#[derive(Debug, PartialEq)]
struct Outcome {
    deposits: Vec<Vec<String>>,
    results: BTreeMap<String, Vec<u8>>,
    exceptions: Vec<u8>,
}

fn files_under(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn outcome(dir: &Path, seed: u64, messy: bool, format: &str) -> Outcome {
    let seed = seed.to_string();
    let mut args = vec!["--orders", "600", "--seed", &seed, "--bank-format", format];
    if messy {
        args.push("--messy");
    }
    generated_lake(dir, &args);
    let out = payrecon(dir)
        .args(["reconcile", "--lake", "lake"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{format}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut deposits = project(
        &rows(&dir.join("lake"), &DEPOSITS),
        &[
            "bank_transaction_id",
            "booking_date",
            "amount",
            "currency",
            "reference",
        ],
    );
    deposits.sort();
    let rec = dir.join("reports/reconcile");
    Outcome {
        deposits,
        results: files_under(&rec.join("results")),
        exceptions: std::fs::read(rec.join("exceptions.csv")).unwrap(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3, ..ProptestConfig::default() })]

    #[test]
    fn every_bank_format_reconciles_as_the_csv(seed in 0u64..10_000, messy in any::<bool>()) {
        let tmp = tempfile::tempdir().unwrap();
        let mut base: Option<Outcome> = None;
        for format in FORMATS {
            let dir = tmp.path().join(format);
            std::fs::create_dir(&dir).unwrap();
            let got = outcome(&dir, seed, messy, format);
            prop_assert!(!got.deposits.is_empty());
            match &base {
                None => base = Some(got),
                Some(csv) => {
                    prop_assert_eq!(&got.deposits, &csv.deposits, "{} deposits", format);
                    prop_assert_eq!(
                        got.results.keys().collect::<Vec<_>>(),
                        csv.results.keys().collect::<Vec<_>>()
                    );
                    for (name, bytes) in &got.results {
                        prop_assert!(bytes == &csv.results[name], "{}: {} differs", format, name);
                    }
                    prop_assert!(got.exceptions == csv.exceptions, "{} exceptions differ", format);
                }
            }
        }
    }
}
