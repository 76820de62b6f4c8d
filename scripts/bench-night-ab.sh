#!/usr/bin/env bash
# Compares one incremental night across builds, alternating them (nights here vary by ±0.5 s
# from run to run, so one run each says little).
#
#   scripts/bench-night-ab.sh N BIN...     (e.g. 4 /tmp/payrecon-old target/release/payrecon)
#
# Needs the data of scripts/bench-run.sh (bench-data/run-2000000). Each build gets its own base
# reports (the incremental state is tied to the build that wrote it), made once in
# /tmp/payrecon-ab/<build>; then N rounds, each one night per build on a fresh copy of the base
# lake and that build's reports. Prints per build the medians of wall, user and system seconds.
# Copy a binary aside before rebuilding: the state of a rebuilt binary does not fit.
set -euo pipefail
cd "$(dirname "$0")/.."
n="$1"
shift
root=bench-data/run-2000000
work="$root/work"
ab=/tmp/payrecon-ab
mkdir -p "$ab" "$root/empty"
times="$ab/times.txt"
: >"$times"
for b in "$@"; do
  name=$(basename "$b")
  [ -d "$ab/$name" ] || "$b" -q --lake "$root/base-lake" run --keep --inbox "$root/empty" \
    --reports "$ab/$name" >/dev/null || [ $? -eq 1 ]
done
for _ in $(seq "$n"); do
  for b in "$@"; do
    name=$(basename "$b")
    rm -rf "$work"
    mkdir -p "$work"
    cp -r "$root/base-lake" "$work/lake"
    cp -r "$ab/$name" "$work/reports"
    sync
    /usr/bin/time -f "$name %e %U %S" -a -o "$times" "$b" -q --lake "$work/lake" run --keep \
      --inbox "$root/night" --reports "$work/reports" >/dev/null || [ $? -eq 1 ]
  done
done
python3 - "$times" "$@" <<'PY'
import os, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
for b in sys.argv[2:]:
    r = [x for x in rows if x[0] == os.path.basename(b)]
    med = lambda i: statistics.median(float(x[i]) for x in r)
    print(f"{os.path.basename(b)}: {len(r)} nights, wall {med(1):.2f} s, user {med(2):.2f} s, "
          f"sys {med(3):.2f} s (each: {' '.join(x[1] for x in r)})")
PY
