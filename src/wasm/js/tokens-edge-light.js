// `ai-credits/tokens` for Vercel's edge runtime (the `edge-light` export condition): the
// estimator's module, imported as a precompiled `WebAssembly.Module` (`.wasm?module`) and
// instantiated at import. See edge-light.js.
import { initSync } from './tokens.js';
import wasm from './ai_credits_tokens_bg.wasm?module';
import { sameRealm } from './edge-module.js';

initSync({ module: sameRealm(wasm) });

export * from './tokens.js';
export { default } from './tokens.js';
