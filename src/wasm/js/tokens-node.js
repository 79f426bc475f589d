// `ai-credits/tokens` for Node (copied into pkg/ by scripts/build-pkg.sh; also bundled into
// pkg/tokens-node.cjs for `require`): the estimator's module, loaded at import.
import { initSync } from './tokens.js';
import { wasmBytes } from './node-wasm.js';

initSync({ module: wasmBytes('ai_credits_tokens_bg.wasm') });

export * from './tokens.js';
export { default } from './tokens.js';
