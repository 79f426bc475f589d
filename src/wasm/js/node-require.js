// The package's entry for Node's `require` (bundled into pkg/node.cjs by scripts/build-pkg.sh):
// node.js with the builtins required, since a CommonJS bundle cannot await.
import fs from 'node:fs';
import module from 'node:module';
import { initSync } from './index.js';
import { initSync as initEstimator } from './tokens.js';
import { wasmBytes } from './node-wasm.js';

initEstimator({ module: wasmBytes('ai_credits_tokens_bg.wasm', fs, module) });
initSync(() => ({ module: wasmBytes('ai_credits_bg.wasm', fs, module) }));

export * from './index.js';
export { default } from './index.js';
// Named exports take the place of the star export's names.
export { estimateTokenRange, estimateTokens, TokenCounter } from './tokens.js';
