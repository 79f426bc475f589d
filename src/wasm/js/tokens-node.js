// `ai-credits/tokens` for Node (bundled into pkg/tokens-node.js, and into
// pkg/tokens-node.cjs for `require`, by scripts/build-pkg.sh): the estimator's module, loaded
// at import.
import { initSync } from './tokens.js';
import { wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_tokens_bg.wasm') });

export * from './tokens.js';
export { default } from './tokens.js';
