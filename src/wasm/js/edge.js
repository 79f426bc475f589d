// The package's entry for Cloudflare's workerd (the `workerd` export condition, which wrangler
// and workerd-aware bundlers use): there a `.wasm` file is imported as a compiled
// WebAssembly.Module, so the module is instantiated at import and init() and initSync() are
// no-ops, as in Node. Nothing is fetched at run time.
import { initSync } from './index.js';
import wasm from './ai_credits_bg.wasm';

initSync({ module: wasm });

export * from './index.js';
export { default } from './index.js';
