// The package's entry for Node's `import` (bundled with what it imports, but the error class,
// into pkg/node.js by scripts/build-pkg.sh; node-require.js is the same for `require`). Node
// cannot fetch() a file: URL, so the .wasm is read from disk and instantiated synchronously at
// import: init() and initSync() are then no-ops.
import { initSync } from './index.js';
import { nodeBuiltin, wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_bg.wasm', await nodeBuiltin('node:fs'), await nodeBuiltin('node:module')) });

export * from './index.js';
export { default } from './index.js';
