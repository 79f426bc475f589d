// What the `edge-light` entries do with the `WebAssembly.Module` of a `.wasm?module` import.

/**
 * `module`, recognised by this realm's `instanceof WebAssembly.Module`, which the glue's
 * initSync() checks before compiling anything else as bytes. Where the host compiled the module
 * in another realm (Next.js's local edge sandbox and the `edge-runtime` emulation compile it in
 * Node and hand it to the function's context), the check fails though the object is a compiled
 * module that `new WebAssembly.Instance` accepts; its prototype is then set to this realm's.
 * Anything that is not a compiled module is returned as it is (and refused by initSync).
 */
export function sameRealm(module) {
  if (module instanceof WebAssembly.Module) return module;
  if (Object.prototype.toString.call(module) === '[object WebAssembly.Module]') {
    Object.setPrototypeOf(module, WebAssembly.Module.prototype);
  }
  return module;
}
