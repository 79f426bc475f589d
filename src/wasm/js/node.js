// The package's entry for Node (bundled with what it imports, but the error class, into
// pkg/node.js, and into pkg/node.cjs for `require`, by scripts/build-pkg.sh). Node cannot
// fetch() a file: URL, so the .wasm is read from disk and instantiated synchronously at
// import: init() and initSync() are then no-ops.
import { initSync } from './index.js';
import { wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_bg.wasm') });

export * from './index.js';
export { default } from './index.js';
