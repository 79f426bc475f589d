#!/usr/bin/env bash
# Builds the npm package in pkg/ from the WASM facade: cargo (wasm profile) → wasm-bindgen
# (--target web) → wasm-opt -Oz, plus a small Node entry that instantiates the same .wasm
# synchronously from disk. Only pkg/package.json and pkg/README.md are kept in git.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --lib --target wasm32-unknown-unknown --profile wasm -p ai-credits
raw=target/wasm32-unknown-unknown/wasm/ai_credits.wasm

find pkg -mindepth 1 -maxdepth 1 ! -name package.json ! -name README.md ! -name .gitignore -exec rm -rf {} +
wasm-bindgen --target web --out-dir pkg --remove-name-section --remove-producers-section "$raw"
node_modules/.bin/wasm-opt -Oz --enable-bulk-memory --enable-nontrapping-float-to-int \
  --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
  pkg/ai_credits_bg.wasm -o pkg/ai_credits_bg.wasm

# wasm-bindgen declares the raw exports' externref parameters and results (in `InitOutput` and
# the `_bg.wasm.d.ts` file) as `any`. They are opaque handles that no caller builds, so the precise
# type is `unknown`; the public API above them is typed by src/wasm/types.rs.
sed -i -E '/^ *(readonly [A-Za-z0-9_]+|export const [A-Za-z0-9_]+): \(/ s/\b([a-z]): any\b/\1: unknown/g; s/=> any;$/=> unknown;/' \
  pkg/ai_credits.d.ts pkg/ai_credits_bg.wasm.d.ts
if grep -nE '(:|<|\||,|=>|\()\s*any\b|\bany\s*(\[|\||>|,|;|\))' pkg/*.d.ts; then echo "build-pkg: 'any' left in pkg/*.d.ts" >&2; exit 1; fi

# The entry (src/wasm/js/index.js: the error class, not_initialized, freed) imports the error
# class from the copy the glue imports, so `instanceof` holds for every error.
errors=$(cd pkg && find snippets -name errors.js)
[ -n "$errors" ] || { echo "build-pkg: the glue's errors.js snippet is missing" >&2; exit 1; }
sed "s|'./errors.js'|'./$errors'|" src/wasm/js/index.js > pkg/index.js
cp src/wasm/js/index.d.ts pkg/index.d.ts
# The same types for `require` (TypeScript reads a .d.ts of this "type": "module" package as
# ESM, which CommonJS code may not import): CommonJS copies under .d.cts names.
cp pkg/ai_credits.d.ts pkg/ai_credits.d.cts
sed "s|'./ai_credits.js'|'./ai_credits.cjs'|g" src/wasm/js/index.d.ts > pkg/index.d.cts
# ai-credits/react: hooks over the package's own entry (React is a peer dependency).
cp src/wasm/js/react.js src/wasm/js/react.d.ts pkg/

# Node's entry: ESM, and the same bundled into CommonJS for `require` (esbuild; import.meta.url
# becomes the file's own URL). A process that loads both gets two copies of the module, whose
# errors isAiCreditsError still recognises.
cp src/wasm/js/node.js pkg/node.js
node_modules/.bin/esbuild pkg/node.js --bundle --format=cjs --platform=node --target=node18 \
  --log-level=warning --outfile=pkg/node.cjs \
  --define:import.meta.url=__ai_credits_url \
  --banner:js="const __ai_credits_url = require('node:url').pathToFileURL(__filename).href;"

echo "pkg/: $(wc -c < pkg/ai_credits_bg.wasm) bytes of wasm ($(gzip -9c pkg/ai_credits_bg.wasm | wc -c) gzipped)"
