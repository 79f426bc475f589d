// The package's entry for Vercel's edge runtime (the `edge-light` export condition, which
// Next.js and Vercel's bundler use for edge functions and middleware). That runtime refuses to
// compile WebAssembly from bytes at run time; a `.wasm?module` import is compiled by the
// bundler's host instead and arrives as a `WebAssembly.Module`, so the module is instantiated
// at import and init() and initSync() are no-ops, as in Node.
import { initSync } from './index.js';
import wasm from './ai_credits_bg.wasm?module';
import { sameRealm } from './edge-module.js';

initSync({ module: sameRealm(wasm) });

export * from './index.js';
export { default } from './index.js';
