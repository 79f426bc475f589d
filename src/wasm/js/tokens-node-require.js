// `ai-credits/tokens` for Node's `require` (bundled into pkg/tokens-node.cjs by
// scripts/build-pkg.sh): tokens-node.js with the builtins required.
import fs from 'node:fs';
import module from 'node:module';
import { initSync } from './tokens.js';
import { wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_tokens_bg.wasm', fs, module) });

export * from './tokens.js';
export { default } from './tokens.js';
