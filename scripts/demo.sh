#!/usr/bin/env bash
# The main job. Today: builds the core natively and as the npm package, and runs the SPEC's
# worked example through both runtimes, showing they agree. The backend with its embedded
# SQLite database and the web app (issues 4 and 6) will be started from here when they land.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release --bin ai-credits
bash scripts/build-pkg.sh
scenario=tests/scenarios/spec-example.json
native=$(target/release/ai-credits scenario "$scenario")
wasm=$(node tests/js/run-scenario.mjs "$scenario")
if [ "$native" != "$wasm" ]; then
  echo "the native and WASM results differ" >&2
  diff <(echo "$native") <(echo "$wasm") >&2
  exit 1
fi
echo "$native"
echo
echo "The native runner and the npm package (WASM in Node) printed the same result for $scenario."
