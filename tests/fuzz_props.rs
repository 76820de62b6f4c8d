//! Fuzzing that stays: every reader behind its byte-level entry point
//! (`ingest::read::read_bytes`), fed arbitrary bytes and mutations of every fixture, must keep
//! the contract's promises: no panic, rows read = loaded + rejected, every reject at a line
//! that exists. A whole ingest of mutated files keeps read = loaded + rejected + duplicates.
//!
//! `PAYRECON_FUZZ_CASES=N` runs N cases per property instead of the default (a longer run:
//! `PAYRECON_FUZZ_CASES=20000 cargo test --release --test fuzz_props`).

mod common;

use std::path::{Path, PathBuf};

use payrecon::ingest::read::read_bytes;
use payrecon::ingest::{Detected, FileStatus, IngestOptions, Sniffed, ingest};
use payrecon::lake::{Lake, LockMode};
use payrecon::model::time::{DEFAULT_EARLIEST, TimeWindow, parse_date, parse_timestamp};
use payrecon::model::{Currency, FileFormat, FileKind};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("PAYRECON_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Every fixture file: the seeds that get mutated.
fn seeds() -> &'static [Vec<u8>] {
    static SEEDS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    SEEDS.get_or_init(|| {
        fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            entries.sort();
            for p in entries {
                if p.is_dir() {
                    walk(&p, out);
                } else if p.extension().is_some_and(|e| e != "md" && e != "toml") {
                    out.push(p);
                }
            }
        }
        let mut files = Vec::new();
        walk(&common::fixture(""), &mut files);
        for f in ["orders-2026-10-01.csv", "refunds-2026-10-03.csv"] {
            let p = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("sample-data")
                .join(f);
            if p.exists() {
                files.push(p);
            }
        }
        files
            .iter()
            .map(|p| {
                let mut b = std::fs::read(p).unwrap();
                // Big generated files: their start is what the parsers see first.
                b.truncate(16 * 1024);
                b
            })
            .collect()
    })
}

/// The `[[bank.csv]]` layouts of the bank fixtures.
fn bank_layouts() -> Vec<payrecon::settings::BankCsvLayout> {
    static LAYOUTS: std::sync::OnceLock<Vec<payrecon::settings::BankCsvLayout>> =
        std::sync::OnceLock::new();
    LAYOUTS
        .get_or_init(|| {
            ["bank/sparkasse", "bank/capital-one"]
                .iter()
                .flat_map(|d| {
                    let path = common::fixture(d).join("payrecon.toml");
                    let text = std::fs::read_to_string(&path).unwrap();
                    payrecon::settings::Config::parse(&text, &path)
                        .unwrap()
                        .bank
                        .csv
                })
                .collect()
        })
        .clone()
}

fn options(max_record: usize) -> IngestOptions {
    IngestOptions {
        banks: bank_layouts(),
        window: TimeWindow::new(
            DEFAULT_EARLIEST,
            parse_timestamp("2026-12-01T00:00:00Z").unwrap(),
            2,
        ),
        max_record_bytes: max_record,
        ..IngestOptions::default()
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Delete(usize, usize),
    Duplicate(usize, usize),
    Truncate(usize),
}

fn special() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"\r".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b",".to_vec()),
        Just(b"\0".to_vec()),
        Just(b"\xff\xfe".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        Just(b"{".to_vec()),
        Just(b"}".to_vec()),
        Just(b"9999-12-31T23:59:59-0700".to_vec()),
        Just(b"1969-12-31".to_vec()),
        Just(b"-0.00".to_vec()),
        Just(b"99999999999999999999".to_vec()),
        Just("\u{1b}[2J\u{202e}".as_bytes().to_vec()),
        proptest::collection::vec(any::<u8>(), 1..8),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::Flip(p, b)),
        (any::<usize>(), special()).prop_map(|(p, b)| Mutation::Insert(p, b)),
        (any::<usize>(), 1usize..40).prop_map(|(p, n)| Mutation::Delete(p, n)),
        (any::<usize>(), 1usize..200).prop_map(|(p, n)| Mutation::Duplicate(p, n)),
        any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn mutate(mut b: Vec<u8>, ms: &[Mutation]) -> Vec<u8> {
    for m in ms {
        let at = |p: usize, len: usize| if len == 0 { 0 } else { p % (len + 1) };
        match m {
            Mutation::Flip(p, x) if !b.is_empty() => {
                let i = p % b.len();
                b[i] = *x;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(p, bytes) => {
                let i = at(*p, b.len());
                b.splice(i..i, bytes.iter().copied());
            }
            Mutation::Delete(p, n) => {
                let i = at(*p, b.len());
                let j = (i + n).min(b.len());
                b.drain(i..j);
            }
            Mutation::Duplicate(p, n) => {
                let i = at(*p, b.len());
                let j = (i + n).min(b.len());
                let piece = b[i..j].to_vec();
                b.splice(j..j, piece);
            }
            Mutation::Truncate(p) => {
                let i = at(*p, b.len());
                b.truncate(i);
            }
        }
    }
    b
}

/// The contract's invariants for one reading of `bytes`.
fn check(bytes: &[u8], force: Option<Detected>, max_record: usize) -> Result<(), TestCaseError> {
    let r = read_bytes(bytes, force, &options(max_record));
    if !matches!(r.sniffed, Sniffed::Kind(_)) || r.error.is_some() {
        // Refused as a whole: nothing read, nothing loaded.
        prop_assert_eq!(r.rows_loaded, 0);
        return Ok(());
    }
    prop_assert_eq!(r.rows_read, r.main_rows + r.rejected, "{:?}", r);
    prop_assert_eq!(r.reject_lines.len() as u64, r.rejected);
    let lines = 1 + bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    for &l in &r.reject_lines {
        prop_assert!(l >= 1 && l <= lines, "reject at line {} of {}", l, lines);
    }
    Ok(())
}

fn every_reader() -> Vec<Detected> {
    let d = |kind, format| Detected { kind, format };
    vec![
        d(FileKind::Settlement, FileFormat::FlatFile),
        d(FileKind::Charges, FileFormat::Csv),
        d(FileKind::Charges, FileFormat::JsonLines),
        d(FileKind::Refunds, FileFormat::Csv),
        d(FileKind::Refunds, FileFormat::JsonLines),
        d(FileKind::Orders, FileFormat::Csv),
        d(FileKind::Deposits, FileFormat::Csv),
        d(FileKind::Deposits, FileFormat::BankCsv(0)),
        d(FileKind::Deposits, FileFormat::BankCsv(1)),
        d(FileKind::Deposits, FileFormat::Camt),
        d(FileKind::Deposits, FileFormat::Mt940),
        d(FileKind::Deposits, FileFormat::Bai2),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(3000), ..ProptestConfig::default() })]

    /// Mutated fixtures, recognised by content as an ingest would.
    #[test]
    fn mutated_fixtures_keep_the_invariants(
        seed in any::<prop::sample::Index>(),
        ms in proptest::collection::vec(mutation(), 0..12),
        small in any::<bool>(),
    ) {
        let seeds = seeds();
        let bytes = mutate(seeds[seed.index(seeds.len())].clone(), &ms);
        check(&bytes, None, if small { 1024 } else { 1 << 20 })?;
    }

    /// Mutated fixtures read by every reader, whatever they are.
    #[test]
    fn every_reader_survives_every_fixture(
        seed in any::<prop::sample::Index>(),
        reader in any::<prop::sample::Index>(),
        ms in proptest::collection::vec(mutation(), 0..6),
    ) {
        let seeds = seeds();
        let readers = every_reader();
        let bytes = mutate(seeds[seed.index(seeds.len())].clone(), &ms);
        check(&bytes, Some(readers[reader.index(readers.len())]), 1024)?;
    }

    /// Arbitrary bytes, to the detector and to every reader.
    #[test]
    fn arbitrary_bytes_keep_the_invariants(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        reader in any::<prop::sample::Index>(),
    ) {
        check(&bytes, None, 1024)?;
        let readers = every_reader();
        check(&bytes, Some(readers[reader.index(readers.len())]), 1024)?;
    }

    /// The value parsers never panic, whatever the text.
    #[test]
    fn value_parsers_never_panic(text in "\\PC{0,40}", digits in "[-+0-9:.TZ ,]{0,32}") {
        let w = options(1024).window;
        for t in [&text, &digits] {
            if let Ok(ts) = parse_timestamp(t) {
                let _ = w.check_timestamp(ts.timestamp_micros());
            }
            if let Ok(d) = parse_date(t) {
                let _ = w.check_date(d);
            }
            for c in [Currency::USD, Currency::JPY] {
                let _ = payrecon::model::money::parse_minor(t, c);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(64), ..ProptestConfig::default() })]

    /// A whole ingest of a few mutated files into a lake (and of the same files again).
    #[test]
    fn ingest_of_mutated_files_accounts_for_every_row(
        picks in proptest::collection::vec(
            (any::<prop::sample::Index>(), proptest::collection::vec(mutation(), 0..6)),
            1..5,
        ),
    ) {
        let tmp = tempfile::tempdir().unwrap();
        let inbox = tmp.path().join("inbox");
        std::fs::create_dir_all(&inbox).unwrap();
        let seeds = seeds();
        for (i, (seed, ms)) in picks.iter().enumerate() {
            let bytes = mutate(seeds[seed.index(seeds.len())].clone(), ms);
            std::fs::write(inbox.join(format!("f{i}.csv")), bytes).unwrap();
        }
        let lake = Lake::open(&tmp.path().join("lake"), LockMode::Wait).unwrap();
        let opts = options(1024);
        for round in 0..2 {
            let report = ingest(&lake, std::slice::from_ref(&inbox), &opts);
            prop_assert!(report.is_ok(), "{:?}", report.err());
            for f in &report.unwrap().files {
                if f.status == FileStatus::Loaded {
                    prop_assert_eq!(f.rows_read, f.loaded + f.rejected + f.duplicates);
                } else {
                    prop_assert!(round == 1 || f.loaded == 0);
                }
            }
        }
    }
}

/// The committed corpus, read whole (no mutation), each as what it is.
#[test]
fn the_corpus_reads_as_expected() {
    let dir = common::fixture("fuzz");
    let read = |name: &str| {
        read_bytes(
            &std::fs::read(dir.join(name)).unwrap(),
            None,
            &options(1 << 20),
        )
    };
    let lone = read("lone-cr.csv");
    assert_eq!((lone.rows_read, lone.main_rows, lone.rejected), (1, 0, 1));
    assert_eq!(lone.reject_lines, [2]);
    let pre = read("pre-1970.csv");
    assert_eq!((pre.rows_read, pre.rejected), (1, 1));
    let future = read("far-future.csv");
    assert_eq!((future.rows_read, future.rejected), (2, 2));
    assert!(matches!(read("bom-only.csv").sniffed, Sniffed::Empty));
    assert!(
        matches!(read("header-control.csv").sniffed, Sniffed::Unknown(ref w) if !w.contains('\u{1b}'))
    );
    let nul = read("nul-run.jsonl");
    assert_eq!((nul.rows_read, nul.main_rows, nul.rejected), (2, 1, 1));
    // Past serde_json's recursion limit: not JSON, so not recognised (and no stack overflow).
    assert!(matches!(
        read("deep-json.jsonl").sniffed,
        Sniffed::Unknown(_)
    ));
    let s = read("settlement-odd-dates.txt");
    assert_eq!((s.rows_read, s.main_rows, s.rejected), (2, 1, 1));
    let bank = read("bank-odd.csv");
    assert_eq!((bank.rows_read, bank.main_rows, bank.rejected), (3, 1, 2));
}
