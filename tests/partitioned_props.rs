//! `payrecon reconcile` in parts (a memory budget, issue 25) writes the very files it writes in
//! memory: every results file, `_digests.json` and `exceptions.csv` byte for byte, and the same
//! summary, for random data sets (messy or not), any number of parts, and an output folder that
//! already holds another run's results.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{generated_lake, payrecon, snapshot};
use proptest::prelude::*;

/// Every file under `dir`, by its path there.
fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(dir)
        .into_iter()
        .map(|(p, b)| (p.display().to_string(), b))
        .collect()
}

/// Reconciles `dir/lake` into `dir/out` (with `[reconcile] partitions = parts`, 1: in memory):
/// every file written, and the summary with the folder's name left out.
fn reconciled(dir: &Path, out: &str, parts: u32) -> (BTreeMap<String, Vec<u8>>, String) {
    let config = dir.join(format!("parts-{parts}.toml"));
    std::fs::write(&config, format!("[reconcile]\npartitions = {parts}\n")).unwrap();
    let run = payrecon(dir)
        .args([
            "--config",
            config.to_str().unwrap(),
            "reconcile",
            "--lake",
            "lake",
            "--out",
            out,
        ])
        .output()
        .unwrap();
    assert!(
        matches!(run.status.code(), Some(0 | 1)),
        "{parts} parts: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    let files = files(&dir.join(out));
    let summary = String::from_utf8(run.stdout).unwrap().replace(out, "OUT");
    (files, summary)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4, ..ProptestConfig::default() })]

    #[test]
    fn parts_write_what_memory_writes(
        seed in 0u64..10_000,
        messy in any::<bool>(),
        parts in 2u32..9,
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let seed = seed.to_string();
        let mut args = vec!["--orders", "500", "--months", "2", "--seed", &seed];
        if messy {
            args.push("--messy");
        }
        generated_lake(dir, &args);
        let (whole, said) = reconciled(dir, "whole", 1);
        prop_assert!(whole.keys().any(|k| k.ends_with(".parquet")));
        let (split, said_split) = reconciled(dir, "split", parts);
        prop_assert_eq!(whole.keys().collect::<Vec<_>>(), split.keys().collect::<Vec<_>>());
        for (name, bytes) in &whole {
            prop_assert!(bytes == &split[name], "{} parts: {} differs", parts, name);
        }
        prop_assert_eq!(said, said_split);
        // Over an output folder of the other way's results: the same files again, and no spill
        // left behind.
        let (again, _) = reconciled(dir, "whole", parts);
        prop_assert_eq!(&whole, &again);
        let (back, _) = reconciled(dir, "split", 1);
        prop_assert_eq!(&whole, &back);
    }
}

/// A memory budget above the lake's estimated need reconciles in memory (parts for a budget:
/// `partitioned::tests`); `--csv` is refused in parts.
#[test]
fn a_budget_the_lake_fits_reconciles_in_memory() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generated_lake(dir, &["--orders", "2000", "--seed", "5"]);
    let (whole, _) = reconciled(dir, "whole", 1);
    let run = payrecon(dir)
        .args([
            "-v",
            "reconcile",
            "--lake",
            "lake",
            "--out",
            "budget",
            "--memory-budget-mb",
            "64",
        ])
        .output()
        .unwrap();
    assert!(matches!(run.status.code(), Some(0 | 1)));
    let log = String::from_utf8_lossy(&run.stderr);
    // 2,000 orders are ~6,000 rows: 3 MB, under any budget allowed, so: in memory.
    assert!(!log.contains("parts:"), "{log}");
    assert_eq!(whole, files(&dir.join("budget")));
    // --csv needs the whole table: refused in parts, with the way out.
    std::fs::write(dir.join("parts-3.toml"), "[reconcile]\npartitions = 3\n").unwrap();
    let run = payrecon(dir)
        .args(["--config", "parts-3.toml"])
        .args(["reconcile", "--lake", "lake", "--out", "csv", "--csv"])
        .output()
        .unwrap();
    assert_eq!(run.status.code(), Some(2));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("--csv needs the whole results table"), "{err}");
}

/// A lake another process writes to between the two reads is refused (exit 2, the fix named),
/// never reconciled from rows of two different lakes.
#[test]
fn a_lake_written_meanwhile_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    generated_lake(dir, &["--orders", "300", "--seed", "8"]);
    payrecon(dir)
        .args([
            "generate", "--orders", "50", "--seed", "9", "--month", "2026-12", "--out", "more",
        ])
        .output()
        .unwrap();
    std::fs::write(dir.join("parts-2.toml"), "[reconcile]\npartitions = 2\n").unwrap();
    #[allow(deprecated)]
    let bin = assert_cmd::cargo::cargo_bin("payrecon");
    let reconcile = std::process::Command::new(bin)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("PAYRECON_CRASH_AT")
        .env("PAYRECON_NOW", common::TEST_NOW)
        .env("PAYRECON_PAUSE_AT", "reconcile-between-reads:4000")
        .args([
            "--config",
            "parts-2.toml",
            "reconcile",
            "--lake",
            "lake",
            "--out",
            "split",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let ingest = payrecon(dir)
        .args(["-q", "ingest", "--lake", "lake", "more"])
        .output()
        .unwrap();
    assert!(matches!(ingest.status.code(), Some(0 | 1)), "{ingest:?}");
    let out = reconcile.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("the lake changed while it was being reconciled"),
        "{err}"
    );
    assert!(!dir.join("split/results").exists());
}
