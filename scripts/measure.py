#!/usr/bin/env python3
"""Run a command; print its wall time and peak resident memory (of it and its children).

Usage: measure.py LABEL -- CMD [ARGS...]
Prints one line: LABEL<TAB>seconds<TAB>peak_rss_mib<TAB>exit_code
"""
import resource
import subprocess
import sys
import time

label = sys.argv[1]
cmd = sys.argv[sys.argv.index("--") + 1:]
start = time.perf_counter()
proc = subprocess.run(cmd, stdout=subprocess.DEVNULL)
elapsed = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(f"{label}\t{elapsed:.2f}\t{peak_kib / 1024:.0f}\t{proc.returncode}", flush=True)
