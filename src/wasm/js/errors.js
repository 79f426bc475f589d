// The package's error class, imported by the WASM glue (every error the Rust side throws is
// made here) and re-exported by the package's entries, so `instanceof` holds across them.

/** Every error this package throws: an `Error` with a stable snake_case `code`. */
export class AiCreditsError extends Error {
  constructor(code, message) {
    super(message);
    this.name = 'AiCreditsError';
    this.code = code;
  }
}

/**
 * Whether `e` is one of this package's errors. Also true for one made by another copy of the
 * package (two bundles, an iframe), which `instanceof` would miss.
 */
export function isAiCreditsError(e) {
  return e instanceof AiCreditsError
    || (typeof e === 'object' && e !== null && e.name === 'AiCreditsError' && typeof e.code === 'string');
}

/** Called by the WASM glue. */
export function makeError(code, message) {
  return new AiCreditsError(code, message);
}
