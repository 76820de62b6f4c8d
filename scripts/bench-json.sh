#!/usr/bin/env bash
# Benchmark of JSON Charge objects in the shapes of spec/inputs.md §2: the same charges as JSON
# Lines, as one pretty-printed JSON array, and as a list response (`{"charges": [...]}`), each
# ingested into an empty lake; DuckDB's read_json over the same files (count of rows) beside.
#
#   scripts/bench-json.sh [ORDERS]      (default 2000000; RUNS=3 runs each, median)
#
# Data: the charges of `scripts/bench-run.sh`'s generated set (34 daily JSON Lines files),
# joined into one file per shape in bench-data/json-ORDERS/ (about 1 GB each; the pretty array
# about 2 GB with its indentation). The array is never parsed whole: payrecon reads it an
# object at a time, so its memory is that of the JSON Lines file.
source "$(dirname "$0")/bench-lib.sh"
n="${1:-2000000}"
src="bench-data/run-$n/all"
[ -d "$src" ] || { echo "run scripts/bench-run.sh $n first (it generates the data)" >&2; exit 2; }
out="bench-data/json-$n"
if [ ! -f "$out/.done" ]; then
  rm -rf "$out"; mkdir -p "$out"
  cat "$src"/charges-*.jsonl > "$out/charges.jsonl"
  "$py" - "$out" <<'PY'
import json, sys
out = sys.argv[1]
with open(f"{out}/charges.jsonl") as lines, open(f"{out}/charges-array.json", "w") as arr, \
     open(f"{out}/charges-list.json", "w") as lst:
    arr.write("[\n"); lst.write('{\n  "nextToken": null,\n  "charges": [\n')
    first = True
    for line in lines:
        obj = json.loads(line)
        sep = "" if first else ",\n"
        first = False
        arr.write(sep + json.dumps(obj, indent=4))
        lst.write(sep + json.dumps(obj, separators=(",", ":")))
    arr.write("\n]\n"); lst.write("\n  ]\n}\n")
PY
  touch "$out/.done"
fi
echo "# $(wc -l < "$out/charges.jsonl") charges; $(du -h "$out/charges.jsonl" | cut -f1) as JSON Lines, $(du -h "$out/charges-array.json" | cut -f1) as a pretty array, $(du -h "$out/charges-list.json" | cut -f1) as a list response"
header
work="$out/work"
prep() { rm -rf "$work"; mkdir -p "$work"; sync; }
for f in charges.jsonl charges-array.json charges-list.json; do
  median "payrecon ingest $f" -- "$bin" -q ingest --no-progress --lake "$work/lake" "$out/$f"
done
# DuckDB parses every field too: the same files into one Parquet file (its read_json infers
# the nested structs' types).
for f in charges.jsonl charges-array.json; do
  fmt=newline_delimited; [ "$f" = charges-array.json ] && fmt=array
  median "duckdb read_json $f into Parquet" -- "$py" -c "import duckdb; duckdb.sql(\"copy (select * from read_json('$out/$f', format='$fmt')) to '$work/duck.parquet'\")"
done
