//! The command line in a real pseudo-terminal (util-linux `script`), where width, colour and
//! progress depend on it: tables fit the terminal, rates read as percentages, `--all` and
//! `--columns` choose columns, `NO_COLOR` and `--color` decide colour, and a pipe gets CSV.

mod common;

use std::path::Path;
use std::process::Command;

use common::{TEST_NOW, generated_lake, payrecon};

/// Runs payrecon with `args` in a `cols`-wide pseudo-terminal; returns what the terminal shows
/// (standard output and error together), lines without their `\r`.
fn in_terminal(dir: &Path, cols: u16, env: &[(&str, &str)], args: &[&str]) -> String {
    let bin = assert_cmd::cargo::cargo_bin("payrecon");
    let quoted: Vec<String> = std::iter::once(bin.display().to_string())
        .chain(args.iter().map(|a| a.to_string()))
        .map(|a| format!("'{}'", a.replace('\'', r"'\''")))
        .collect();
    let script = format!("stty rows 50 cols {cols}; exec {}", quoted.join(" "));
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &script, "/dev/null"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env_remove("NO_COLOR")
        .env_remove("COLUMNS")
        .env("PAYRECON_NOW", TEST_NOW);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("util-linux script runs");
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

fn lake() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    generated_lake(tmp.path(), &["--orders", "600", "--seed", "9"]);
    tmp
}

#[test]
fn tables_fit_the_terminal_with_rates_as_percentages() {
    let tmp = lake();
    let d = tmp.path();
    for cols in [80u16, 120] {
        let text = in_terminal(
            d,
            cols,
            &[],
            &["--lake", "lake", "approvals", "--by", "country,device"],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() > 10, "{text}");
        for l in &lines {
            assert!(l.chars().count() <= cols as usize, "{cols}: {l:?}");
        }
        assert!(lines[0].starts_with("country  device"), "{text}");
        assert!(text.contains(" %"), "rates as percentages: {text}");
        let fraction = |t: &str| {
            t.strip_prefix("0.")
                .is_some_and(|f| f.len() == 4 && f.bytes().all(|b| b.is_ascii_digit()))
        };
        assert!(
            !text.split_whitespace().any(fraction),
            "no fractions: {text}"
        );
        let foot = lines.last().unwrap();
        assert!(foot.starts_with('(') && foot.contains(" rows"), "{foot}");
        if cols == 80 {
            assert!(foot.contains("(--all, --columns)"), "{foot}");
        }
    }
    // --all: every column (and lines as long as they need).
    let all = in_terminal(
        d,
        80,
        &[],
        &["--lake", "lake", "approvals", "--by", "country", "--all"],
    );
    let header = all.lines().next().unwrap();
    for col in ["amount_approval_rate", "retry_uplift", "eventual_rate_hi"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(!all.contains("(--all, --columns)"));
    // --columns: exactly those, in that order.
    let some = in_terminal(
        d,
        80,
        &[],
        &[
            "--lake",
            "lake",
            "approvals",
            "--by",
            "country",
            "--columns",
            "approval_rate,country",
        ],
    );
    let header: Vec<&str> = some.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["approval_rate", "country"], "{some}");
    // A mistyped column: an error with a suggestion and the list.
    let bad = in_terminal(
        d,
        80,
        &[],
        &["--lake", "lake", "approvals", "--columns", "aproval_rate"],
    );
    assert!(
        bad.contains("did you mean \"approval_rate\"?") && bad.contains("the columns are"),
        "{bad}"
    );
}

#[test]
fn a_pipe_gets_every_column_as_csv_without_float_noise() {
    let tmp = lake();
    let out = payrecon(tmp.path())
        .args(["--lake", "lake", "approvals", "--by", "country,device"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let header = text.lines().next().unwrap();
    assert!(header.contains("retry_uplift") && header.contains("eventual_rate_hi"));
    for field in text.lines().skip(1).flat_map(|l| l.split(',')) {
        assert!(!field.contains("e-"), "float noise: {field}");
        if let Some((_, frac)) = field.split_once('.') {
            assert!(frac.len() <= 12, "{field}");
        }
    }
}

#[test]
fn colour_follows_no_color_and_the_flag() {
    let tmp = lake();
    let d = tmp.path();
    // A warning (an unknown dimension is an error; a missing file is one too): an error line.
    let args = ["--lake", "lake", "approvals", "--by", "contry"];
    let coloured = in_terminal(d, 100, &[], &args);
    assert!(
        coloured.contains("\x1b["),
        "colour on a terminal: {coloured:?}"
    );
    assert!(coloured.contains("did you mean \"country\"?"), "{coloured}");
    let plain = in_terminal(d, 100, &[("NO_COLOR", "1")], &args);
    assert!(!plain.contains("\x1b["), "NO_COLOR: {plain:?}");
    let never = in_terminal(
        d,
        100,
        &[],
        &[
            "--color", "never", args[0], args[1], args[2], args[3], args[4],
        ],
    );
    assert!(!never.contains("\x1b["), "--color never: {never:?}");
    // --color always through a pipe.
    let out = payrecon(d)
        .args(["--color", "always"])
        .args(args)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("\x1b["));
}

#[test]
fn reconciling_and_reports_show_progress_on_a_terminal_only() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    payrecon(d)
        .args(["generate", "--orders", "300", "--seed", "2", "--out", "in"])
        .assert()
        .success();
    let shown = in_terminal(d, 100, &[], &["run", "--inbox", "in", "--keep"]);
    assert!(shown.contains("reconciling"), "{shown:?}");
    assert!(shown.contains("writing reports, months"), "{shown:?}");
    assert!(shown.contains("run ok:"), "{shown:?}");
    let quiet = in_terminal(
        d,
        100,
        &[],
        &["-q", "run", "--inbox", "in", "--keep", "--full"],
    );
    assert!(!quiet.contains("reconciling"), "{quiet:?}");
    // Not a terminal: no progress line.
    let out = payrecon(d)
        .args(["run", "--inbox", "in", "--keep", "--full"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("reconciling"));
}
