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
# Files are left in place (--keep), so the same inputs serve every run. Full runs and nights
# alternate (RUNS rounds of one each); the ratio is printed from the medians and by round. The
# base (lake and reports of every file but the night) is rebuilt by this build first.
source "$(dirname "$0")/bench-lib.sh"
n="${1:-2000000}"
root="bench-data/run-$n"
all="$root/all"
if [ ! -f "$root/.done" ]; then
  rm -rf "$root"
  python3 scripts/measure.py "generate $n over 2 months" -- "$bin" generate --orders "$n" --seed 1 \
    --month 2026-09 --months 2 --out "$all" >&2
  touch "$root/.done"
fi
# The night and the base as hard links to the generated files: an inbox's symbolic links are
# skipped (`[ingest] follow_symlinks`), so links of that kind would make empty inboxes.
rm -rf "$root/night" "$root/base"
mkdir -p "$root/night" "$root/base"
for f in "$all"/*; do
  case "$(basename "$f")" in
    *2026-10-31*) ln "$f" "$root/night/" ;;
    *.md) ;;
    *) ln "$f" "$root/base/" ;;
  esac
done
# The base lake and reports, made by this build: the incremental run keeps what they already
# hold (lake partitions and result files whose rows did not change), so they must be this
# version's: a lake written by an older build may use another codec (not timed).
rm -rf "$root/base-lake" "$root/base-reports" "$root/empty"
mkdir -p "$root/empty"
"$bin" -q --lake "$root/base-lake" run --keep --inbox "$root/base" --reports "$root/base-reports" >/dev/null || [ $? -eq 1 ]
echo "# $(ls "$all" | wc -l) files, $(du -shL "$all" | cut -f1); new night: $(ls "$root/night" | wc -l) files, $(du -shL "$root/night" | cut -f1)"
header
work="$root/work"
fresh() { rm -rf "$work"; mkdir -p "$work"; }
base_copy() {
  fresh
  cp -r "$root/base-lake" "$work/lake"
  cp -r "$root/base-reports" "$work/reports"
  sync
}
# Full runs and nights alternate, so that both see the same machine (on a shared VM the speed
# drifts by 10-20 % within an hour): the ratio is of medians over the same stretch of time.
rounds=$(mktemp)
for _ in $(seq "$runs"); do
  fresh
  sync
  python3 scripts/measure.py "run full (all files, empty lake)" -- "$bin" -q --lake "$work/lake" run --keep --inbox "$all" --reports "$work/reports" >>"$rounds"
  base_copy
  python3 scripts/measure.py "run incremental (1 new day)" -- "$bin" -q --lake "$work/lake" run --keep --inbox "$root/night" --reports "$work/reports" >>"$rounds"
done
python3 - "$rounds" <<'PY'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
labels = list(dict.fromkeys(r[0] for r in rows))
med = {}
for label in labels:
    rs = sorted((r for r in rows if r[0] == label), key=lambda r: float(r[1]))
    m = rs[len(rs) // 2]
    med[label] = statistics.median(float(r[1]) for r in rs)
    print(f"{label}\t{med[label]:.2f}\t{m[2]}\t{m[3]}\t(each: {' '.join(r[1] for r in rows if r[0] == label)})")
full, night = (med[l] for l in labels)
pairs = [(float(a[1]), float(b[1])) for a, b in zip(rows[0::2], rows[1::2])]
print(f"# night / full: {100 * night / full:.1f} % of the medians; by round: "
      + " ".join(f"{100 * n / f:.1f} %" for f, n in pairs))
PY
rm -f "$rounds"
# Nothing new: the night again on the lake and reports it just produced (its files are known).
prep() {
  base_copy
  "$bin" -q --lake "$work/lake" run --keep --inbox "$root/night" --reports "$work/reports" >/dev/null || [ $? -eq 1 ]
  sync
}
median "run with nothing new (the night again)" -- "$bin" -q --lake "$work/lake" run --keep --inbox "$root/night" --reports "$work/reports"
