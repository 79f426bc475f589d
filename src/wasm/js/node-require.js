// The package's entry for Node's `require` (bundled into pkg/node.cjs by scripts/build-pkg.sh):
// node.js with the builtins required, since a CommonJS bundle cannot await.
import fs from 'node:fs';
import module from 'node:module';
import { initSync } from './index.js';
import { wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_bg.wasm', fs, module) });

export * from './index.js';
export { default } from './index.js';
