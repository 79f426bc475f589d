// `ai-credits/tokens` for Node's `import` (bundled into pkg/tokens-node.js by
// scripts/build-pkg.sh; tokens-node-require.js is the same for `require`): the estimator's
// module, loaded at import.
import { initSync } from './tokens.js';
import { nodeBuiltin, wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_tokens_bg.wasm', await nodeBuiltin('node:fs'), await nodeBuiltin('node:module')) });

export * from './tokens.js';
export { default } from './tokens.js';
