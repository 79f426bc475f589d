// The package in Cloudflare's workerd (the `workerd` export condition): a worker bundled by
// esbuild with workerd's conditions imports the package, whose edge entry imports the .wasm as
// a module, and answers estimates identical to the package's in Node. workerd comes from the
// npm registry (the `workerd` package).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { estimateTokens, Ledger } from 'ai-credits';
import { freePort } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const out = join(root, 'tests/js/out/workerd');
const bin = (name) => join(root, 'node_modules/.bin', name);

const ACCOUNT = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };
const TEXTS = ['How many bookings today?', 'Create a booking for three products over five days', 'Résumé 日本語 🎉'];

/** What the worker answers, computed the same way. */
function answer(text) {
  const ledger = new Ledger(ACCOUNT);
  try {
    const e = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text }, '2026-01-02T00:00:00Z');
    return { tokens: estimateTokens(text, 'claude-sonnet-4-6'), credits: e.credits, task: e.task };
  } finally {
    ledger.free();
  }
}

test('a workerd worker imports the package and estimates as Node does', { timeout: 120_000 }, async () => {
  // Proves the `workerd` entry: bundled with workerd's conditions (the .wasm left as a module import), served by workerd, it answers the same tokens, credit range and task flag as the package in Node, with no init() call.
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'entry.mjs'), `
import { estimateTokens, Ledger, isAiCreditsError } from 'ai-credits';
export default {
  async fetch(request) {
    const text = new URL(request.url).searchParams.get('text') ?? '';
    const ledger = new Ledger(${JSON.stringify(ACCOUNT)});
    try {
      const e = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text }, '2026-01-02T00:00:00Z');
      return Response.json({ tokens: estimateTokens(text, 'claude-sonnet-4-6'), credits: e.credits, task: e.task });
    } catch (e) {
      return Response.json({ error: isAiCreditsError(e) ? e.code : String(e) }, { status: 500 });
    } finally {
      ledger.free();
    }
  },
};
`);
  execFileSync(bin('esbuild'), [join(out, 'entry.mjs'), '--bundle', '--format=esm', '--platform=neutral',
    '--conditions=workerd,worker,browser', '--main-fields=module,main', '--external:*.wasm',
    '--log-level=warning', `--outfile=${join(out, 'worker.js')}`], { cwd: root });
  copyFileSync(join(root, 'pkg/ai_credits_bg.wasm'), join(out, 'ai_credits_bg.wasm'));
  const port = await freePort();
  writeFileSync(join(out, 'config.capnp'), `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "./ai_credits_bg.wasm", wasm = embed "ai_credits_bg.wasm"),
  ],
  compatibilityDate = "2025-01-01",
);
`);
  const child = spawn(bin('workerd'), ['serve', join(out, 'config.capnp')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (c) => { log += c; });
  child.stdout.on('data', (c) => { log += c; });
  try {
    let first;
    for (let i = 0; i < 100 && !first; i++) {
      try {
        first = await fetch(`http://127.0.0.1:${port}/?text=x`);
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    assert.ok(first, `workerd did not answer:\n${log}`);
    for (const text of TEXTS) {
      const response = await fetch(`http://127.0.0.1:${port}/?text=${encodeURIComponent(text)}`);
      const body = await response.json();
      assert.equal(response.status, 200, `${JSON.stringify(body)}\n${log}`);
      assert.deepEqual(body, answer(text), text);
    }
  } finally {
    child.kill('SIGKILL');
  }
});
