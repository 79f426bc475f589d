// The package's entry for Node (copied into pkg/ by scripts/build-pkg.sh; also bundled into
// pkg/node.cjs for `require`). Node cannot fetch() a file: URL, so the .wasm is read from disk
// and instantiated synchronously at import: init() and initSync() are then no-ops.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AiCreditsError, initSync } from './index.js';

/**
 * The module's bytes: beside this file, or, when a bundler moved this file away from it (an SSR
 * build that inlines the package), in the installed package.
 */
function wasmBytes() {
  const here = new URL('./ai_credits_bg.wasm', import.meta.url);
  try {
    return readFileSync(here);
  } catch (e) {
    if (e?.code !== 'ENOENT') throw e;
  }
  try {
    return readFileSync(createRequire(import.meta.url).resolve('ai-credits/ai_credits_bg.wasm'));
  } catch {
    throw new AiCreditsError('not_initialized',
      `ai_credits_bg.wasm is neither beside ${here.pathname} nor in an installed ai-credits package: keep ai-credits external in the server build (Vite: ssr.external), or copy the file beside the bundle`);
  }
}

initSync({ module: wasmBytes() });

export * from './index.js';
export { default } from './index.js';
