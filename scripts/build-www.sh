#!/usr/bin/env bash
# Builds the web app (www/ → www/dist/) on the npm package in pkg/, which must be built first
# (scripts/build-pkg.sh): a strict type check, then Vite. `ai-credits serve --www www/dist`
# serves the result on the API's origin.
set -euo pipefail
cd "$(dirname "$0")/../www"
if [ ! -f ../pkg/ai_credits.js ]; then
  echo "build-www: pkg/ is not built; run scripts/build-pkg.sh first" >&2
  exit 1
fi
node_modules/.bin/tsc --noEmit
node_modules/.bin/vite build --logLevel warn
echo "www/dist/: $(du -sh dist | cut -f1) ($(find dist -type f | wc -l) files)"
