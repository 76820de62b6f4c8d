//! Helpers shared by the end-to-end tests: run the real binary, read the lake back.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use payrecon::lake::Lake;
use payrecon::lake::text::TextRow;
use payrecon::model::schema::TableDef;

pub(crate) fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The clock every test run sees (`PAYRECON_NOW`): the plausible-time window of generated data
/// must not depend on the day the tests run.
pub(crate) const TEST_NOW: &str = "2027-06-30T00:00:00Z";

/// The payrecon binary, run in `dir` with a clean environment and the test clock.
pub(crate) fn payrecon(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("payrecon").expect("binary built");
    cmd.current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("PAYRECON_CRASH_AT")
        .env_remove("PAYRECON_PAUSE_AT")
        .env("PAYRECON_NOW", TEST_NOW);
    cmd
}

/// Every row of a table, as text.
pub(crate) fn rows(lake: &Path, table: &'static TableDef) -> Vec<TextRow> {
    let lake = Lake::read_only(lake).expect("lake opens");
    lake.table_rows(table).expect("table reads")
}

/// The value of `column` in a row.
pub(crate) fn get<'a>(row: &'a TextRow, column: &str) -> Option<&'a str> {
    row.iter()
        .find(|(c, _)| *c == column)
        .unwrap_or_else(|| panic!("no column {column}"))
        .1
        .as_deref()
}

/// Rows projected on some columns, for compact assertions.
pub(crate) fn project(rows: &[TextRow], columns: &[&str]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| get(r, c).unwrap_or("NULL").to_string())
                .collect()
        })
        .collect()
}

/// A snapshot of every file in a folder (path and bytes), to prove nothing changed.
pub(crate) fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(d: &Path, base: &Path, out: &mut Vec<(PathBuf, Vec<u8>)>) {
        let mut entries: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.file_name().is_some_and(|n| n == ".lock") {
                continue;
            }
            if p.is_dir() {
                walk(&p, base, out);
            } else {
                out.push((
                    p.strip_prefix(base).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

/// The modification time of every file under `dir`, to prove nothing was rewritten.
#[allow(dead_code)]
pub(crate) fn mtimes(dir: &Path) -> Vec<(PathBuf, std::time::SystemTime)> {
    snapshot(dir)
        .into_iter()
        .map(|(p, _)| {
            let t = std::fs::metadata(dir.join(&p)).unwrap().modified().unwrap();
            (p, t)
        })
        .collect()
}

/// `payrecon generate ARGS --out in` then `payrecon ingest in` into `dir/lake`. Exit 1 from
/// ingest (rejected rows, expected with `--messy`) is accepted.
pub(crate) fn generated_lake(dir: &Path, generate_args: &[&str]) {
    // `PAYRECON_TEST_BANK_FORMAT=camt053|mt940|bai2` runs every test on generated data with
    // its bank statements in that format (`.ci/run` does so for the reconciliation's
    // properties).
    let bank_format = std::env::var("PAYRECON_TEST_BANK_FORMAT")
        .ok()
        .filter(|_| !generate_args.contains(&"--bank-format"));
    payrecon(dir)
        .arg("generate")
        .args(generate_args)
        .args(
            bank_format
                .iter()
                .flat_map(|f| ["--bank-format", f.as_str()]),
        )
        .args(["--out", "in"])
        .assert()
        .success();
    let out = payrecon(dir)
        .args(["ingest", "--lake", "lake", "--no-progress", "in"])
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
