# Shared set-up of the benchmark scripts (sourced, not run): the release build, DuckDB from
# PyPI in bench-data/.venv, `median`, and the cached generated data and lake.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs="${RUNS:-3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/payrecon/target}"
# Generated data runs a few days past its months: judge it by a clock after it (see docs/LIMITS.md).
export PAYRECON_NOW="${PAYRECON_NOW:-2027-06-30T00:00:00Z}"
# PAYRECON_BENCH_BIN: measure that binary (a copy made with `cp -p`) instead of building.
if [ -n "${PAYRECON_BENCH_BIN:-}" ]; then
  bin="$PAYRECON_BENCH_BIN"
else
  cargo build --release --quiet
  bin="$CARGO_TARGET_DIR/release/payrecon"
fi
venv=bench-data/.venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb
fi
py="$venv/bin/python"

# prep: run before every measured run (scripts override it).
prep() { :; }

# median LABEL -- CMD...: run CMD $runs times after `prep`, print the median line.
median() {
  local label=$1; shift; shift
  for _ in $(seq "$runs"); do
    prep
    python3 scripts/measure.py "$label" -- "$@"
  done | sort -t$'\t' -k2,2n | sed -n "$(( (runs + 1) / 2 ))p"
}

header() {
  echo "# payrecon $("$bin" --version | cut -d' ' -f2), DuckDB $("$py" -c 'import duckdb; print(duckdb.__version__)'), $(nproc) cores, median of $runs runs"
  printf 'run\tseconds\tpeak_rss_mib\texit\n'
}

# generated N: bench-data/orders-N, made once (`generate --seed 1 --month 2026-10`); with
# MONTHS=M the orders are spread over M months from 2026-10 (bench-data/orders-N-mM).
generated() {
  local data="bench-data/orders-$1" months=()
  if [ -n "${MONTHS:-}" ]; then data="$data-m$MONTHS"; months=(--months "$MONTHS"); fi
  if [ ! -f "$data/.done" ]; then
    rm -rf "$data"
    python3 scripts/measure.py "generate $1" -- "$bin" generate --orders "$1" --seed 1 --month 2026-10 "${months[@]}" --out "$data" >&2
    touch "$data/.done"
  fi
  echo "$data"
}

# ingested N: bench-data/analytics-N with lake/ (of `generated N`) and reason_codes.csv, made once.
ingested() {
  local data work="bench-data/analytics-$1${MONTHS:+-m$MONTHS}"
  data=$(generated "$1")
  if [ ! -f "$work/.done" ]; then
    rm -rf "$work"
    mkdir -p "$work"
    "$bin" -q ingest --no-progress --lake "$work/lake" "$data" > /dev/null
    "$bin" codes --format csv > "$work/reason_codes.csv"
    touch "$work/.done"
  fi
  echo "$work"
}
