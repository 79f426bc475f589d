// What the package's entries put around a wasm-bindgen glue (copied into pkg/ by
// scripts/build-pkg.sh, which points the import of the error class at the copy the glues
// import, so `instanceof` holds for every error):
//
// - a coded `not_initialized` error for anything used before `init()` resolved (the glue
//   would throw a bare TypeError);
// - a coded `freed` error for an object used after `free()`, and a `free()` that may be
//   called again (the glue would throw "null pointer passed to rust", without a code).
import { AiCreditsError, isAiCreditsError } from './errors.js';

export { AiCreditsError, isAiCreditsError };

/** The guards of one glue: its init functions, and wrappers that wait for them. */
export function guard(glue) {
  let ready = false;
  // What Node's main entries hand initSync (a function): the module is loaded with what it
  // returns on first need instead (src/wasm/js/node.js). If it throws (a missing file), that
  // use gets its error and the next one tries again.
  let deferred;

  const assertReady = (what) => {
    if (ready) return;
    if (!deferred) {
      throw new AiCreditsError('not_initialized',
        `${what} was used before the WASM module was loaded: call and await init() (the default export) first; Node's entries load it for you`);
    }
    loaded(glue.initSync(deferred()));
  };

  /** A function of the glue, made to check `init()` first. */
  const fn = (name, f, args = (a) => a) => function (...given) {
    assertReady(name);
    return f.apply(this, args(given));
  };

  // Classes whose prototypes are still to be guarded: patched when the module loads, not at
  // import, where it cost 0.6 ms of Node's cold start for classes that an estimate never uses
  // (issue 13). No object of them exists before the module is loaded.
  const unguarded = [];
  const loaded = (exports) => {
    for (const patch of unguarded.splice(0)) patch();
    ready = true;
    return exports;
  };

  /**
   * A class of the glue: its methods refuse a freed object with `freed`, `free()` and
   * `[Symbol.dispose]()` may be called again, and its constructor and static methods wait
   * for `init()`. The same class (prototype and all) is exported, so `instanceof` holds for
   * objects the glue makes itself. `args` may rewrite the arguments of the constructor and
   * static methods.
   */
  const wrapClass = (cls, args = (a) => a) => {
    unguarded.push(() => guardPrototype(cls));
    const statics = new Map();
    return new Proxy(cls, {
      construct(target, given, newTarget) {
        assertReady(`new ${target.name}()`);
        return Reflect.construct(target, args(given), newTarget);
      },
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (typeof value !== 'function' || key === 'prototype') return value;
        if (!statics.has(key)) statics.set(key, fn(`${target.name}.${String(key)}`, value.bind(target), args));
        return statics.get(key);
      },
    });
  };

  return {
    /** Loads the WASM module (once); everything else waits for it. */
    init: async (options) => {
      if (deferred) assertReady();
      return loaded(await glue.default(options));
    },
    /**
     * Loads the WASM module synchronously from its bytes or a compiled `WebAssembly.Module`;
     * given a function instead, loads it with what the function returns when first needed.
     */
    initSync: (options) => {
      if (typeof options == 'function') return void (deferred = options);
      if (deferred) assertReady();
      return loaded(glue.initSync(options));
    },
    /** A one- or two-argument function of the glue, checking `init()` first (no rest args: estimateTokens runs on every keystroke). */
    checked: (name, f) => (a, b) => {
      if (!ready) assertReady(name);
      return f(a, b);
    },
    wrapClass,
  };
}

/** Makes the methods of `cls` refuse a freed object with `freed`, and `free()` idempotent. */
function guardPrototype(cls) {
  const proto = cls.prototype;
  const free = proto.free;
  const freeOnce = function () {
    if (this.__wbg_ptr) free.call(this);
  };
  const check = (self) => {
    if (!self.__wbg_ptr) {
      throw new AiCreditsError('freed',
        `this ${cls.name} was freed (free() or the end of a \`using\` block); make a new one`);
    }
  };
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (key === 'free' || (typeof Symbol.dispose === 'symbol' && key === Symbol.dispose)) {
      Object.defineProperty(proto, key, { ...d, value: freeOnce });
      continue;
    }
    if (typeof d.value === 'function') {
      const f = d.value;
      d.value = function (...a) { check(this); return f.apply(this, a); };
    }
    if (d.get) {
      const get = d.get;
      d.get = function () { check(this); return get.call(this); };
    }
    if (d.set) {
      const set = d.set;
      d.set = function (v) { check(this); set.call(this, v); };
    }
    Object.defineProperty(proto, key, d);
  }
}
