#!/usr/bin/env bash
# What an account costs as it ages: seeds accounts of 1,000 to 500,000 events, measures the
# server (GET /state, GET /checkpoint, a cold account's first event, RSS with many accounts
# cached) and the browser (Client.connect in Chromium: time, bytes, offline copy), each printed
# beside the figures of the build before checkpoints. AI_CREDITS_BENCH_SIZES=1000,10000 and
# AI_CREDITS_BENCH_RSS_ACCOUNTS=100 make a quick run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
bash scripts/build-pkg.sh >/dev/null
cargo bench -p ai-credits-server --bench history
AI_CREDITS_BIN="$PWD/target/release/ai-credits" node bench/connect.mjs
