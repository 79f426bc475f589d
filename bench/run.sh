#!/usr/bin/env bash
# The core's benchmark: native (cargo bench, release) and the npm package in Node, on the same
# generated year of history, printed side by side.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh >/dev/null
cargo bench --bench replay >/dev/null
bash scripts/build-pkg.sh >/dev/null
node bench/replay.mjs
