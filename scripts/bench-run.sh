#!/usr/bin/env bash
# Benchmark of the nightly run: a full rebuild against an incremental night.
#
#   scripts/bench-run.sh [ORDERS]      (default 2000000; RUNS=3 runs each, median)
#
# Data: `payrecon generate --orders ORDERS --seed 1 --month 2026-09 --months 2` (61 days of
# orders and five days of tail activity), made once in bench-data/run-ORDERS/all. The new night
# is every file dated 2026-10-31; the base is every other file.
#   full:         `payrecon run --keep` over all files into an empty lake and reports folder
#                 (ingest everything, reconcile, every month's reports);
#   incremental:  `payrecon run --keep` over the new night on top of a copy of the base lake and
#                 its reports (the copy is made before each run and not timed);
#   nothing new:  the same command again after the incremental run (nothing changed).
# Files are left in place (--keep), so the same inputs serve every run.
source "$(dirname "$0")/bench-lib.sh"
n="${1:-2000000}"
root="bench-data/run-$n"
all="$root/all"
if [ ! -f "$root/.done" ]; then
  rm -rf "$root"
  mkdir -p "$root/night" "$root/base"
  python3 scripts/measure.py "generate $n over 2 months" -- "$bin" generate --orders "$n" --seed 1 \
    --month 2026-09 --months 2 --out "$all" >&2
  for f in "$all"/*; do
    case "$(basename "$f")" in
      *2026-10-31*) ln -s "$(realpath "$f")" "$root/night/" ;;
      *.md) ;;
      *) ln -s "$(realpath "$f")" "$root/base/" ;;
    esac
  done
  # The base state: the lake and reports of every file but the new night.
  "$bin" -q --lake "$root/base-lake" run --keep --inbox "$root/base" --reports "$root/base-reports" || [ $? -eq 1 ]
  touch "$root/.done"
fi
# The base reports, made by this build: the incremental run keeps what they already hold (result
# files whose rows did not change), so they must be this version's (not timed).
rm -rf "$root/base-reports" "$root/empty"
mkdir -p "$root/empty"
"$bin" -q --lake "$root/base-lake" run --keep --inbox "$root/empty" --reports "$root/base-reports" >/dev/null || [ $? -eq 1 ]
echo "# $(ls "$all" | wc -l) files, $(du -shL "$all" | cut -f1); new night: $(ls "$root/night" | wc -l) files, $(du -shL "$root/night" | cut -f1)"
header
work="$root/work"
prep() { rm -rf "$work"; mkdir -p "$work"; }
median "run full (all files, empty lake)" -- "$bin" -q --lake "$work/lake" run --keep --inbox "$all" --reports "$work/reports"
prep() {
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$root/base-lake" "$work/lake"
  cp -r "$root/base-reports" "$work/reports"
  sync
}
median "run incremental (1 new day)" -- "$bin" -q --lake "$work/lake" run --keep --inbox "$root/night" --reports "$work/reports"
# Nothing new: the night again on the lake and reports it just produced (its files are known).
prep() {
  rm -rf "$work"
  mkdir -p "$work"
  cp -r "$root/base-lake" "$work/lake"
  cp -r "$root/base-reports" "$work/reports"
  "$bin" -q --lake "$work/lake" run --keep --inbox "$root/night" --reports "$work/reports" >/dev/null || [ $? -eq 1 ]
  sync
}
median "run with nothing new (the night again)" -- "$bin" -q --lake "$work/lake" run --keep --inbox "$root/night" --reports "$work/reports"
