#!/usr/bin/env bash
# Every test, in order: formatting and lints, the native suites (unit, property, conformance,
# CLI), the npm package build, the WASM suites under Node and in headless Chromium, the strict
# TypeScript consumer check, and the JS suites against the built package. CI runs this file.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "set-up"
bash scripts/setup.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p ai-credits --all-targets --target wasm32-unknown-unknown -- -D warnings

step "PostgreSQL for the server tests (a throwaway cluster, stopped at exit)"
eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop "$AI_CREDITS_PG_DIR"' EXIT

step "native tests"
cargo test --workspace

step "npm package"
bash scripts/build-pkg.sh

step "WASM tests: Node and headless Chromium (wasm-bindgen-test)"
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p ai-credits --target wasm32-unknown-unknown --tests

step "TypeScript: a strict consumer of pkg/*.d.ts"
node_modules/.bin/tsc -p tests/js/tsconfig.json

step "JS tests against the built package"
AI_CREDITS_BIN="$PWD/target/debug/ai-credits" node --test tests/js/
