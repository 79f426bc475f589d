// The package's entry for Node's `import` (bundled with what it imports, but the error class,
// into pkg/node.js by scripts/build-pkg.sh; node-require.js is the same for `require`). Node
// cannot fetch() a file: URL, so the modules are read from disk and instantiated
// synchronously: init() and initSync() need not be called (they load what is not loaded yet).
//
// The estimator's own module (ai_credits_tokens_bg.wasm, 65 KB: the one of `ai-credits/tokens`)
// is loaded at import and serves estimateTokens, estimateTokenRange and TokenCounter; the whole
// module (457 KB) is compiled when a Ledger, Catalogue, Client or scenario first needs it. An
// import and a first estimate then cost about what `ai-credits/tokens` costs (issue 13: 24.4 ms
// against 34.8 with the whole module at import, 22.1 for `ai-credits/tokens`). Both modules are built from the same estimator, and a
// TokenCounter is handed to estimateMessage as its `{tokens, low, high}` (toJSON), so which
// module counted never shows.
import { initSync } from './index.js';
import { initSync as initEstimator } from './tokens.js';
import { nodeBuiltin, wasmBytes } from './node-wasm.js';

const fs = await nodeBuiltin('node:fs');
const module = await nodeBuiltin('node:module');
initEstimator({ module: wasmBytes('ai_credits_tokens_bg.wasm', fs, module) });
initSync(() => ({ module: wasmBytes('ai_credits_bg.wasm', fs, module) }));

export * from './index.js';
export { default } from './index.js';
// Named exports take the place of the star export's names.
export { estimateTokenRange, estimateTokens, TokenCounter } from './tokens.js';
