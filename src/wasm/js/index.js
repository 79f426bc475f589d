// The package's entry for browsers, bundlers and workers (copied into pkg/ by
// scripts/build-pkg.sh, which points the import of the error class at the copy the WASM glue
// imports). It is the glue of wasm-bindgen with what a frontend needs around it:
//
// - the error class and its guard (`AiCreditsError`, `isAiCreditsError`);
// - a coded `not_initialized` error for anything used before `init()` resolved (the glue
//   would throw a bare TypeError);
// - a coded `freed` error for an object used after `free()`, and a `free()` that may be
//   called again (the glue would throw "null pointer passed to rust", without a code);
// - a `Catalogue` handed to a `Ledger` stays the caller's (the glue would take it over).
import * as glue from './ai_credits.js';
import { AiCreditsError, isAiCreditsError } from './errors.js';

export { AiCreditsError, isAiCreditsError };

let ready = false;

/** Loads the WASM module (once); everything else waits for it. */
export default async function init(options) {
  const exports = await glue.default(options);
  ready = true;
  return exports;
}

/** Loads the WASM module synchronously from its bytes or a compiled `WebAssembly.Module`. */
export function initSync(options) {
  const exports = glue.initSync(options);
  ready = true;
  return exports;
}

function assertReady(what) {
  if (!ready) {
    throw new AiCreditsError('not_initialized',
      `${what} was used before the WASM module was loaded: call and await init() (the default export) first; Node's entry and ai-credits/tokens load it for you`);
  }
}

/** A static method of the glue, made to check `init()` first. */
function guarded(name, f) {
  return function (...args) {
    assertReady(name);
    return f.apply(this, args);
  };
}

// The functions, written out: estimateTokens runs on every keystroke.
export function estimateTokens(text, model) {
  if (!ready) assertReady('estimateTokens');
  return glue.estimateTokens(text, model);
}
export function estimateTokenRange(text, model) {
  if (!ready) assertReady('estimateTokenRange');
  return glue.estimateTokenRange(text, model);
}
export function runScenario(scenario) {
  if (!ready) assertReady('runScenario');
  return glue.runScenario(scenario);
}
export function runScenarioJson(text) {
  if (!ready) assertReady('runScenarioJson');
  return glue.runScenarioJson(text);
}

/**
 * A class of the glue: its methods refuse a freed object with `freed`, `free()` and
 * `[Symbol.dispose]()` may be called again, and its constructor and static methods wait for
 * `init()`. The same class (prototype and all) is exported, so `instanceof` holds for objects
 * the glue makes itself.
 */
function wrapClass(cls) {
  const proto = cls.prototype;
  const free = proto.free;
  const freeOnce = function () {
    if (this.__wbg_ptr) free.call(this);
  };
  for (const key of Reflect.ownKeys(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (key === 'free' || (typeof Symbol.dispose === 'symbol' && key === Symbol.dispose)) {
      Object.defineProperty(proto, key, { ...d, value: freeOnce });
      continue;
    }
    const check = (self) => {
      if (!self.__wbg_ptr) {
        throw new AiCreditsError('freed',
          `this ${cls.name} was freed (free() or the end of a \`using\` block); make a new one`);
      }
    };
    if (typeof d.value === 'function') {
      const f = d.value;
      d.value = function (...args) { check(this); return f.apply(this, args); };
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
  const statics = new Map();
  return new Proxy(cls, {
    construct(target, args, newTarget) {
      assertReady(`new ${target.name}()`);
      return Reflect.construct(target, keepCatalogues(args), newTarget);
    },
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver);
      if (typeof value !== 'function' || key === 'prototype') return value;
      if (!statics.has(key)) {
        const name = `${target.name}.${String(key)}`;
        statics.set(key, guarded(name, (...args) => value.apply(target, keepCatalogues(args))));
      }
      return statics.get(key);
    },
  });
}

/**
 * The glue takes a `Catalogue` argument over (it is freed when passed); a clone is passed
 * instead, so the caller's stays usable (and is still the caller's to free).
 */
function keepCatalogues(args) {
  return args.map((a) => {
    if (!(a instanceof glue.Catalogue)) return a;
    if (!a.__wbg_ptr) throw new AiCreditsError('freed', 'this Catalogue was freed (free() or the end of a `using` block); make a new one');
    return a.clone();
  });
}

export const Catalogue = wrapClass(glue.Catalogue);
export const Client = wrapClass(glue.Client);
export const Ledger = wrapClass(glue.Ledger);
export const TokenCounter = wrapClass(glue.TokenCounter);
