#!/usr/bin/env bash
# Checks approvals.html in a real headless browser: Debian's Chromium driven by playwright-core.
#
#   scripts/check-html.sh [REPORT_DIR]
#
# With no REPORT_DIR it builds payrecon, generates a fixed data set (1,500 orders, seed 11,
# --messy), runs `payrecon report` on it and checks that report. It installs Chromium (apt) and
# playwright-core (npm, into ~/.cache/payrecon/node) when missing. At 1366 and at 390 px the page
# must load with no console errors and no network requests, each chart must show as many bars
# (or points) as its CSV table has rows, rate bars sorted with the overall rate marked, nothing
# wider than the window, every table in a scroll box, no text under 10.5 px, every CSV link to a
# file that exists. Screenshots REPORT_DIR/approvals-{1366,390}.png are for a person to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/payrecon/target}"

if ! command -v chromium >/dev/null 2>&1; then
    echo "check-html: installing Debian's chromium" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
NODE_CACHE="${PAYRECON_NODE_CACHE:-$HOME/.cache/payrecon/node}"
if [ ! -d "$NODE_CACHE/node_modules/playwright-core" ]; then
    echo "check-html: installing playwright-core into $NODE_CACHE" >&2
    mkdir -p "$NODE_CACHE"
    npm install --prefix "$NODE_CACHE" --no-audit --no-fund --silent playwright-core@1 >&2
fi

dir="${1:-}"
if [ -z "$dir" ]; then
    cargo build --quiet --bin payrecon
    bin="$CARGO_TARGET_DIR/debug/payrecon"
    work="$CARGO_TARGET_DIR/html-check"
    rm -rf "$work"
    mkdir -p "$work"
    "$bin" generate --orders 1500 --seed 11 --messy --out "$work/in" >/dev/null
    "$bin" -q --lake "$work/lake" ingest --no-progress "$work/in" >/dev/null || [ $? -eq 1 ]
    "$bin" -q --lake "$work/lake" report --month 2026-10 --out "$work/reports" >/dev/null || [ $? -eq 1 ]
    dir="$work/reports/2026-10"
fi
NODE_PATH="$NODE_CACHE/node_modules" node scripts/check_html.cjs "$dir"
