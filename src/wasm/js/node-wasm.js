// Where Node's entries read a WebAssembly module from (copied into pkg/ by
// scripts/build-pkg.sh): beside this file, or, when a bundler moved this file away from it
// (an SSR build that inlines the package), in the installed package.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { AiCreditsError } from './guard.js';

/** The bytes of `file` (e.g. `ai_credits_bg.wasm`) of this package. */
export function wasmBytes(file) {
  const here = new URL(`./${file}`, import.meta.url);
  try {
    return readFileSync(here);
  } catch (e) {
    if (e?.code !== 'ENOENT') throw e;
  }
  try {
    return readFileSync(createRequire(import.meta.url).resolve(`ai-credits/${file}`));
  } catch {
    throw new AiCreditsError('not_initialized',
      `${file} is neither beside ${here.pathname} nor in an installed ai-credits package: keep ai-credits external in the server build (Vite: ssr.external), or copy the file beside the bundle`);
  }
}
