// Three helpers of the token estimator (src/wasm/tokens.rs), each one import of the
// WebAssembly module where js-sys would take two or three of other shapes. V8 compiles a
// wrapper for every distinct import signature when it compiles and instantiates a module, on
// every cold start: the estimator's module went from 13 signatures to 9 (issue 13).

const encoder = new TextEncoder();

/** Encodes `text` as UTF-8 into `view`, as far as it fits; returns the bytes written. */
export function encodeInto(text, view) {
  return encoder.encodeInto(text, view).written;
}

/** A view of `length` bytes at `offset` of the module's `memory`. */
export function memoryView(memory, offset, length) {
  return new Uint8Array(memory.buffer, offset, length);
}

/** An estimate as the plain object `{ tokens, low, high }`. */
export function tokenEstimate(tokens, low, high) {
  return { tokens, low, high };
}
