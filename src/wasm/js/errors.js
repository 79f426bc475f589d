// The package's error class, imported by the WASM glue (every error the Rust side throws is
// made here) and re-exported by the package's entries, so `instanceof` holds across them.
// Node's entries bundle a copy of this file each (one file loads faster than two: about 1.7 ms
// of a cold start, issue 13), so the class is kept in the realm under a registered symbol: the
// first copy to load defines it and every later copy (ESM or CommonJS, `ai-credits` or
// `ai-credits/tokens`) exports that same class.

const key = Symbol.for('ai-credits.AiCreditsError');

/** Every error this package throws: an `Error` with a stable snake_case `code`. */
class AiCreditsError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'AiCreditsError';
    this.code = code;
  }
}

/** The class another copy registered, or this one, registered now. */
function sharedClass() {
  const known = globalThis[key];
  if (typeof known === 'function') return known;
  try {
    Object.defineProperty(globalThis, key, { value: AiCreditsError });
  } catch {
    // A frozen global object (a locked-down realm): this copy keeps a class of its own, and
    // isAiCreditsError still recognises the others' errors.
  }
  return AiCreditsError;
}

const Shared = sharedClass();
export { Shared as AiCreditsError };

/**
 * Whether `e` is one of this package's errors. Also true for one made by another copy of the
 * package that does not share this realm's class (an iframe), which `instanceof` would miss.
 */
export function isAiCreditsError(e) {
  return e instanceof Shared
    || (typeof e === 'object' && e !== null && e.name === 'AiCreditsError' && typeof e.code === 'string');
}

/** Called by the WASM glue. */
export function makeError(code, message) {
  return new Shared(code, message);
}
