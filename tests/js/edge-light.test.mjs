// The package in Vercel's edge runtime (the `edge-light` export condition), as far as this
// machine can reproduce it: a function bundled by esbuild with the edge conditions imports the
// package, whose `edge-light` entries import their .wasm as `?module`. A plugin does with those
// imports what Next.js's bundler does for edge functions (the import becomes a global binding
// that the host fills with a `WebAssembly.Module` compiled outside the function), and the bundle
// runs in `edge-runtime` (Vercel's own emulation of the runtime, from npm) with WebAssembly code
// generation switched off, as in the real runtime. Each entry must answer what Node answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { build } from 'esbuild';
import { EdgeRuntime } from 'edge-runtime';
import * as main from 'ai-credits';
import * as tokens from 'ai-credits/tokens';

const root = new URL('../../', import.meta.url).pathname;
const out = join(root, 'tests/js/out/edge-light');

const ACCOUNT = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };
const TEXTS = ['How many bookings today?', 'Create a booking for three products over five days', 'Résumé 日本語 🎉', ''];

/**
 * Next.js's handling of `import wasm from './x.wasm?module'` in an edge bundle: the import
 * becomes a free name, `wasm_<sha1 of the bytes>`, and the host compiles each such file
 * (outside the function's realm) and defines that name in the function's context.
 */
function wasmModulePlugin(bindings) {
  return {
    name: 'wasm-module',
    setup(b) {
      b.onResolve({ filter: /\.wasm\?module$/ }, (args) => ({
        path: resolvePath(args.resolveDir, args.path.replace(/\?module$/, '')),
        namespace: 'wasm-module',
      }));
      b.onLoad({ filter: /.*/, namespace: 'wasm-module' }, (args) => {
        const bytes = readFileSync(args.path);
        const name = `wasm_${createHash('sha1').update(bytes).digest('hex')}`;
        bindings.set(name, bytes);
        return { contents: `export default ${name};`, loader: 'js' };
      });
    },
  };
}

/** Bundles `source` as Next.js bundles an edge function, and runs it in an edge runtime. */
async function edgeFunction(name, source) {
  const dir = join(out, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'function.mjs'), source);
  const bindings = new Map();
  const result = await build({
    entryPoints: [join(dir, 'function.mjs')],
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'neutral',
    // The conditions Next.js resolves packages with for the edge runtime.
    conditions: ['edge-light', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    logLevel: 'error',
    plugins: [wasmModulePlugin(bindings)],
    nodePaths: [join(root, 'node_modules')],
  });
  const code = result.outputFiles[0].text;
  writeFileSync(join(dir, 'bundle.js'), code);
  const modules = {};
  for (const [binding, bytes] of bindings) modules[binding] = await WebAssembly.compile(bytes);
  const runtime = new EdgeRuntime({
    // The real runtime refuses eval and compiling WebAssembly from bytes.
    codeGeneration: { strings: false, wasm: false },
    extend: (context) => Object.assign(context, modules),
  });
  runtime.evaluate(code);
  return { runtime, bindings: [...bindings.keys()], code };
}

async function ask(runtime, text) {
  const response = await runtime.dispatchFetch(`https://example.test/?text=${encodeURIComponent(text)}`);
  const body = await response.json();
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

test('the edge runtime emulation refuses to compile WebAssembly from bytes', () => {
  // Proves the test's runtime has the restriction that makes `?module` necessary: compiling the package's own .wasm bytes inside it throws.
  const runtime = new EdgeRuntime({ codeGeneration: { strings: false, wasm: false } });
  runtime.context.bytes = new Uint8Array(readFileSync(join(root, 'pkg/ai_credits_tokens_bg.wasm')));
  assert.throws(() => runtime.evaluate('new WebAssembly.Module(bytes)'), /disallowed/i);
});

test('an edge function importing ai-credits answers what Node answers', { timeout: 60_000 }, async () => {
  // Proves the `edge-light` entry of `.`: resolved by the edge conditions, its .wasm arrives as a precompiled module (no run-time compilation, no init() call), and it answers the same tokens, credit range and task flag as the package in Node.
  rmSync(join(out, 'main'), { recursive: true, force: true });
  const { runtime, bindings, code } = await edgeFunction('main', `
import { estimateTokens, Ledger, isAiCreditsError } from 'ai-credits';
addEventListener('fetch', (event) => {
  const text = new URL(event.request.url).searchParams.get('text') ?? '';
  let ledger;
  try {
    ledger = new Ledger(${JSON.stringify(ACCOUNT)});
    const e = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text }, '2026-01-02T00:00:00Z');
    event.respondWith(Response.json({ tokens: estimateTokens(text, 'claude-sonnet-4-6'), credits: e.credits, task: e.task }));
  } catch (e) {
    event.respondWith(Response.json({ error: isAiCreditsError(e) ? e.code : String(e) }, { status: 500 }));
  } finally {
    ledger?.free();
  }
});
`);
  assert.equal(bindings.length, 1, 'one .wasm?module import (the whole module)');
  assert.ok(!code.includes('ai_credits_tokens_bg'), 'the main entry does not pull in the estimator module');
  for (const text of TEXTS) {
    const ledger = new main.Ledger(ACCOUNT);
    try {
      const e = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text }, '2026-01-02T00:00:00Z');
      assert.deepEqual(await ask(runtime, text), { tokens: main.estimateTokens(text, 'claude-sonnet-4-6'), credits: e.credits, task: e.task }, text);
    } finally {
      ledger.free();
    }
  }
});

test('an edge function importing ai-credits/tokens answers what Node answers', { timeout: 60_000 }, async () => {
  // Proves the `edge-light` entry of `./tokens`: its estimator module arrives precompiled, and estimateTokens, estimateTokenRange, a TokenCounter's splices and the error for an unknown model match the package in Node.
  rmSync(join(out, 'tokens'), { recursive: true, force: true });
  const { runtime, bindings } = await edgeFunction('tokens', `
import { estimateTokens, estimateTokenRange, TokenCounter, isAiCreditsError } from 'ai-credits/tokens';
addEventListener('fetch', (event) => {
  const text = new URL(event.request.url).searchParams.get('text') ?? '';
  const counter = new TokenCounter('gpt-5');
  try {
    const typed = [];
    for (const c of text) typed.push(counter.splice(counter.length, 0, c));
    let unknown;
    try { estimateTokens(text, 'gpt-9'); } catch (e) { unknown = isAiCreditsError(e) ? e.code : String(e); }
    event.respondWith(Response.json({ tokens: estimateTokens(text, 'gpt-5'), range: estimateTokenRange(text, 'moonshot'), typed, unknown }));
  } finally {
    counter.free();
  }
});
`);
  assert.equal(bindings.length, 1, 'one .wasm?module import');
  for (const text of TEXTS) {
    const counter = new tokens.TokenCounter('gpt-5');
    const typed = [];
    for (const c of text) typed.push(counter.splice(counter.length, 0, c));
    counter.free();
    let unknown;
    try { tokens.estimateTokens(text, 'gpt-9'); } catch (e) { unknown = e.code; }
    assert.deepEqual(await ask(runtime, text), {
      tokens: tokens.estimateTokens(text, 'gpt-5'), range: tokens.estimateTokenRange(text, 'moonshot'), typed, unknown,
    }, text);
  }
});
