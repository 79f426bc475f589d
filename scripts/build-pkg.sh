#!/usr/bin/env bash
# Builds the npm package in pkg/ from the WASM facade: cargo (wasm profile) → wasm-bindgen
# (--target web) → wasm-opt -Oz, twice: the whole facade (`ai_credits_bg.wasm`) and the token
# estimator alone (feature `estimator`: `ai_credits_tokens_bg.wasm`, for `ai-credits/tokens`).
# Then the hand-written entries of src/wasm/js/ and CommonJS bundles of the Node ones. Only
# pkg/package.json and pkg/README.md are kept in git.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --lib --target wasm32-unknown-unknown --profile wasm -p ai-credits
raw=target/wasm32-unknown-unknown/wasm/ai_credits.wasm

find pkg -mindepth 1 -maxdepth 1 ! -name package.json ! -name README.md ! -name .gitignore -exec rm -rf {} +
wasm-bindgen --target web --out-dir pkg --remove-name-section --remove-producers-section "$raw"
wasm_opt() {
  node_modules/.bin/wasm-opt --enable-bulk-memory --enable-nontrapping-float-to-int \
    --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue "$@"
}
# optimize MODULE SHRINK_LEVEL FLAGS…: wasm-opt with FLAGS, then the functions put in the order
# gzip compresses best (scripts/order-functions.mjs: 3.4 KB off the whole module gzipped,
# nothing else changes), written as the optimising run writes them (its StackIR passes, at the
# same levels).
optimize() {
  local module=$1 shrink=$2
  shift 2
  wasm_opt "$@" "$module" -o "$module"
  node scripts/order-functions.mjs "$module" "$module.ordered"
  wasm_opt --reorder-functions-by-name --strip-debug --generate-stack-ir --optimize-stack-ir \
    --optimize-level=2 --shrink-level="$shrink" "$module.ordered" -o "$module"
  rm "$module.ordered"
}
# The whole module without wasm-opt's own inlining (LLVM has inlined already at opt-level
# "z"): larger raw (493 KB against 476) but 10.9 KB smaller gzipped, which is what a page
# downloads; -Os rather than -Oz and --converge take 0.7 KB more off. Previews and estimates
# measured about a tenth slower in Node (7 µs against 6.5), replay the same (issue 13).
# --gufa-optimizing (constants and types inferred across the whole program) 0.3 KB more.
optimize pkg/ai_credits_bg.wasm 1 -Os --skip-pass=inlining-optimizing --gufa-optimizing --converge

# The estimator alone, in a target directory of its own (both builds stay cached).
# Its profile (Cargo.toml) optimises for size with opt-level "s", which is smaller for it.
cargo build --lib --target wasm32-unknown-unknown --profile wasm-estimator -p ai-credits \
  --features estimator --target-dir target/estimator
wasm-bindgen --target web --out-dir pkg --out-name ai_credits_tokens --remove-name-section \
  --remove-producers-section target/estimator/wasm32-unknown-unknown/wasm-estimator/ai_credits.wasm
optimize pkg/ai_credits_tokens_bg.wasm 2 -Oz --converge

# wasm-bindgen declares the raw exports' externref parameters and results (in `InitOutput` and
# the `_bg.wasm.d.ts` file) as `any`. They are opaque handles that no caller builds, so the precise
# type is `unknown`; the public API above them is typed by src/wasm/types.rs.
sed -i -E '/^ *(readonly [A-Za-z0-9_]+|export const [A-Za-z0-9_]+): \(/ s/\b([a-z]): any\b/\1: unknown/g; s/=> any;$/=> unknown;/' \
  pkg/ai_credits.d.ts pkg/ai_credits_bg.wasm.d.ts pkg/ai_credits_tokens.d.ts pkg/ai_credits_tokens_bg.wasm.d.ts
if grep -nE '(:|<|\||,|=>|\()\s*any\b|\bany\s*(\[|\||>|,|;|\))' pkg/*.d.ts; then echo "build-pkg: 'any' left in pkg/*.d.ts" >&2; exit 1; fi

# The entry (src/wasm/js/index.js: the error class, not_initialized, freed) imports the error
# class from the copy the glue imports, so `instanceof` holds for every error.
# Both glues import the error class; one copy of it must serve both (and guard.js), so that
# `instanceof` holds for every error.
# The path under pkg/ of the one snippet named $1 that wasm-bindgen copied (both glues import it).
snippet() {
  local found
  found=$(cd pkg && find snippets -name "$1" | sort)
  [ "$(echo "$found" | wc -l)" = 1 ] && [ -n "$found" ] || { echo "build-pkg: expected one $1 snippet, found: $found" >&2; exit 1; }
  echo "$found"
}
errors=$(snippet errors.js)
sed "s|'./errors.js'|'./$errors'|" src/wasm/js/guard.js > pkg/guard.js
# The estimator's helpers (src/wasm/js/text.js).
text=$(snippet text.js)
cp src/wasm/js/index.js src/wasm/js/tokens.js src/wasm/js/edit.js src/wasm/js/node-wasm.js src/wasm/js/edge.js src/wasm/js/index.d.ts \
  src/wasm/js/tokens.d.ts src/wasm/js/edge-light.js src/wasm/js/tokens-edge-light.js src/wasm/js/edge-module.js pkg/
# The same types for `require` (TypeScript reads a .d.ts of this "type": "module" package as
# ESM, which CommonJS code may not import): CommonJS copies under .d.cts names.
cp pkg/ai_credits.d.ts pkg/ai_credits.d.cts
sed "s|'./ai_credits.js'|'./ai_credits.cjs'|g" src/wasm/js/index.d.ts > pkg/index.d.cts
cp pkg/ai_credits_tokens.d.ts pkg/ai_credits_tokens.d.cts
sed "s|'./ai_credits_tokens.js'|'./ai_credits_tokens.cjs'|g; s|'./index.js'|'./index.cjs'|g" src/wasm/js/tokens.d.ts > pkg/tokens.d.cts
# ai-credits/react: hooks over the package's own entry (React is a peer dependency).
cp src/wasm/js/react.js src/wasm/js/react.d.ts pkg/

# What a page loads, without white space and comments (esbuild: --minify-whitespace and
# --minify-syntax; names are kept, so a class's `name` and the glue's text stay as they were):
# 5.5 KB of the whole package's page load and 2.2 KB of ai-credits/tokens, gzipped (issue 13).
# The API's documentation is in the .d.ts files, which are left as they are.
for js in ai_credits.js ai_credits_tokens.js index.js tokens.js guard.js edit.js react.js $errors $text; do
  node_modules/.bin/esbuild "pkg/$js" --minify-whitespace --minify-syntax --log-level=warning \
    --outfile="pkg/$js" --allow-overwrite
done

# Node's entries, each bundled by esbuild into one file, twice: ESM (node.js, tokens-node.js,
# which take the builtins from process.getBuiltinModule, awaiting an import only on Node before
# 20.16) and CommonJS for `require` (from node-require.js and tokens-node-require.js;
# import.meta.url becomes the file's own URL). One ESM file
# instead of six starts faster (about 3 ms of a cold import + first estimate of 18, issue 13),
# and one instead of two (the error class bundled in rather than left in snippets/…/errors.js)
# about 1.7 ms more. Each bundle then has its own copy of errors.js, whose class is kept in the
# realm under a registered symbol (src/wasm/js/errors.js), so that `ai-credits` and
# `ai-credits/tokens`, ESM or CommonJS, imported together share it and `instanceof` holds.
for entry in node tokens-node; do
  cp "src/wasm/js/$entry.js" "pkg/$entry.src.js"
  node_modules/.bin/esbuild "pkg/$entry.src.js" --bundle --format=esm --platform=node --target=node18 \
    --log-level=warning --outfile="pkg/$entry.js"
  # The CommonJS bundle from its own entry (`require` for the builtins: it cannot await them).
  cp "src/wasm/js/$entry-require.js" "pkg/$entry.src.js"
  node_modules/.bin/esbuild "pkg/$entry.src.js" --bundle --format=cjs --platform=node --target=node18 \
    --log-level=warning --outfile="pkg/$entry.cjs" \
    --define:import.meta.url=__ai_credits_url \
    --banner:js="const __ai_credits_url = require('node:url').pathToFileURL(__filename).href;"
  rm "pkg/$entry.src.js"
done

for wasm in ai_credits_bg ai_credits_tokens_bg; do
  echo "pkg/$wasm.wasm: $(wc -c < "pkg/$wasm.wasm") bytes ($(gzip -9c "pkg/$wasm.wasm" | wc -c) gzipped)"
done
