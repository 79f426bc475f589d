// Where Node's entries read a WebAssembly module from (copied into pkg/ by
// scripts/build-pkg.sh): beside this file, or, when a bundler moved this file away from it
// (an SSR build that inlines the package), in the installed package.
import { AiCreditsError } from './guard.js';

/**
 * Node's builtin module `name`, from `process.getBuiltinModule` where Node has it (20.16 and
 * later): an ESM `import` of `node:fs` costs about 1.3 ms of a cold start, for the facade that
 * Node builds of it (issue 13); earlier versions import it.
 */
export function nodeBuiltin(name) {
  return globalThis.process?.getBuiltinModule?.(name) ?? import(name);
}

/**
 * The bytes of `file` (e.g. `ai_credits_bg.wasm`) of this package, read with `fs.readFileSync`;
 * `module.createRequire` finds the installed package (`fs` and `module` are Node's builtins).
 */
export function wasmBytes(file, fs, module) {
  const here = new URL(`./${file}`, import.meta.url);
  try {
    return fs.readFileSync(here);
  } catch (e) {
    if (e?.code !== 'ENOENT') throw e;
  }
  try {
    return fs.readFileSync(module.createRequire(import.meta.url).resolve(`ai-credits/${file}`));
  } catch {
    throw new AiCreditsError('not_initialized',
      `${file} is neither beside ${here.pathname} nor in an installed ai-credits package: keep ai-credits external in the server build (Vite: ssr.external), or copy the file beside the bundle`);
  }
}
