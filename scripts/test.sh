#!/usr/bin/env bash
# Every test, in order: formatting and lints, the native suites (unit, property, conformance,
# CLI), the npm package build, the WASM suites under Node and in headless Chromium, the strict
# TypeScript consumer check, the JS suites against the built package, and the web app (unit
# tests, build, end-to-end in Chromium). CI runs this file.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "set-up"
bash scripts/setup.sh

step "format and lints"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --all-features -- -D warnings
# The production build (no demo mode) must stand on its own as well.
cargo clippy -p ai-credits-server --all-targets -- -D warnings
cargo clippy -p ai-credits --all-targets --target wasm32-unknown-unknown -- -D warnings
# The estimator-only module of ai-credits/tokens.
cargo clippy -p ai-credits --lib --target wasm32-unknown-unknown --features estimator -- -D warnings

step "PostgreSQL for the server tests (a throwaway cluster, stopped at exit)"
eval "$(bash scripts/postgres.sh)"
trap 'bash scripts/postgres.sh stop "$AI_CREDITS_PG_DIR"' EXIT

step "native tests"
cargo test --workspace --all-features

step "npm package"
bash scripts/build-pkg.sh

step "WASM tests: Node and headless Chromium (wasm-bindgen-test)"
# Built at opt-level 1 (debug assertions and overflow checks kept): unoptimised, the conformance
# suites in Chromium ran 14 – 37 s on a 2-core machine, one synchronous call that the runner's
# 20 s limit and ChromeDriver's 30 s wait for the renderer both cut off; at opt-level 1, 6 s.
CARGO_PROFILE_TEST_OPT_LEVEL=1 CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER=wasm-bindgen-test-runner \
  cargo test -p ai-credits --target wasm32-unknown-unknown --tests

step "TypeScript: strict consumers of pkg/*.d.ts (ES modules with React; CommonJS under Node16 rules)"
node_modules/.bin/tsc -p tests/js/tsconfig.json
node_modules/.bin/tsc -p tests/js/tsconfig.cjs.json

step "JS tests against the built package"
AI_CREDITS_BIN="$PWD/target/debug/ai-credits" node --test tests/js/

step "web app: unit tests (Vitest), type check and build"
(cd www && node_modules/.bin/vitest run)
bash scripts/build-www.sh

step "web app end to end: Chromium against the demo server"
AI_CREDITS_BIN="$PWD/target/debug/ai-credits" node --test --test-concurrency=1 tests/e2e/
