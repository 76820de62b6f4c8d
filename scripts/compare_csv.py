#!/usr/bin/env python3
"""Check that two result CSVs agree: same rows in the same order; on the columns of the second,
numbers equal to 1e-12 and text identical. Usage: compare_csv.py PAYRECON_CSV OTHER_CSV"""
import csv
import sys

a = list(csv.DictReader(open(sys.argv[1])))
b = list(csv.DictReader(open(sys.argv[2])))
assert len(a) == len(b), f"{len(a)} rows vs {len(b)}"
for i, (ra, rb) in enumerate(zip(a, b)):
    for k, vb in rb.items():
        va = ra[k]
        try:
            same = abs(float(va) - float(vb)) <= 1e-12
        except ValueError:
            same = va.lower() == vb.lower()
        assert same, f"row {i + 2}, {k}: {va!r} vs {vb!r}"
print(f"identical: {len(a)} rows")
