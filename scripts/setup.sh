#!/usr/bin/env bash
# Installs what building and testing need, skipping what is already there: the wasm target,
# the wasm-bindgen CLI at exactly the version in Cargo.lock, Debian's Chromium and
# ChromeDriver, the npm tools (wasm-opt from the binaryen package, TypeScript, playwright-core)
# and the web app's packages (Vite, Vitest).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

want=$(awk '$0 == "name = \"wasm-bindgen\"" { getline; gsub(/"/, "", $3); print $3 }' Cargo.lock)
have=$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)
if [ "$have" != "$want" ]; then
  say "installing wasm-bindgen-cli $want (about 2.5 minutes)"
  # --locked fails on this registry mirror (a locked dependency is missing); try it second.
  cargo install wasm-bindgen-cli --version "$want" || cargo install wasm-bindgen-cli --version "$want" --locked
fi

if ! command -v curl >/dev/null; then
  say "installing curl (the demo talks to the server with it)"
  apt-get update -qq && apt-get install -y -qq curl >/dev/null
fi

if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  say "installing Debian's chromium and chromium-driver"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium chromium-driver >/dev/null
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm tools"
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f www/node_modules/.package-lock.json ] || [ www/package-lock.json -nt www/node_modules/.package-lock.json ]; then
  say "installing the web app's npm packages (Vite, TypeScript, Vitest)"
  # `npm install`, not `npm ci`: this registry serves only this platform's builds of Rollup's
  # and esbuild's native packages, so the lock cannot list the other platforms' optional ones
  # and `npm ci` refuses it as out of sync. `npm install` installs exactly the locked versions
  # and leaves the lock as it is.
  (cd www && npm install --no-audit --no-fund --loglevel=error)
fi
say "ready: $(rustc --version | cut -d' ' -f1-2), wasm-bindgen $want, $(chromium --version 2>/dev/null | head -1), node $(node --version)"
