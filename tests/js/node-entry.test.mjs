// Node's main entries (`import` and `require` of `ai-credits`) estimate with the estimator's own
// module, loaded at import, and compile the whole module only when something first needs it
// (src/wasm/js/node.js, issue 13). Each case runs in a child process on a copy of the package
// in a directory of its own, so that the whole module's file can be missing, and comes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const out = join(root, 'tests/js/out/node-entry');

/** A copy of pkg/ in `name` (outside any node_modules, so nothing else resolves `ai-credits`), without the whole module. */
function packageCopy(name) {
  const dir = join(out, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  cpSync(join(root, 'pkg'), dir, { recursive: true, filter: (src) => !src.endsWith('ai_credits_bg.wasm') });
  return dir;
}

const ACCOUNT = "{ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' }";
const TEXT = 'Which rentals are overdue for return, and who has them?';

/** Runs `body` (which may `await`) in a child that first loaded `entry` of `dir` as `ac`; prints what `body` returns, as JSON. */
function run(dir, entry, body, cjs = false) {
  const load = cjs ? `const ac = require(${JSON.stringify(join(dir, entry))});` : `const ac = await import(${JSON.stringify(join(dir, entry))});`;
  const script = cjs
    ? `${load}\n(async () => { console.log(JSON.stringify(await (async () => { ${body} })())); })();`
    : `${load}\nconsole.log(JSON.stringify(await (async () => { ${body} })()));`;
  const args = cjs ? ['-e', script] : ['--input-type=module', '-e', script];
  return JSON.parse(execFileSync(process.execPath, args, { cwd: dir, encoding: 'utf8' }));
}

const useWithoutWholeModule = `
  const estimate = ac.estimateTokenRange(${JSON.stringify(TEXT)}, 'claude-sonnet-4-6');
  const counter = new ac.TokenCounter('claude-sonnet-4-6');
  counter.setText(${JSON.stringify(TEXT)});
  let refused = null;
  try { new ac.Ledger(${ACCOUNT}); } catch (e) { refused = { is: e instanceof ac.AiCreditsError, code: e.code, message: e.message }; }
  let unknown = null;
  try { ac.estimateTokens('hi', 'gpt-9'); } catch (e) { unknown = e instanceof ac.AiCreditsError && ac.isAiCreditsError(e) ? e.code : 'another class'; }
  return { estimate, counted: counter.toJSON(), refused, unknown };`;

for (const [entry, cjs] of [['node.js', false], ['node.cjs', true]]) {
  test(`${entry}: estimates need only the estimator's module; a Ledger without the whole module is a coded error`, () => {
    // Proves the import does not read ai_credits_bg.wasm: estimates, a TokenCounter and their coded errors work without it, and the first Ledger throws not_initialized naming the missing file.
    const dir = packageCopy(`missing-${entry}`);
    const seen = run(dir, entry, useWithoutWholeModule, cjs);
    assert.ok(seen.estimate.tokens > 0 && seen.estimate.low <= seen.estimate.tokens && seen.estimate.tokens <= seen.estimate.high);
    assert.deepEqual(seen.counted, seen.estimate);
    assert.equal(seen.refused?.is, true);
    assert.equal(seen.refused.code, 'not_initialized');
    assert.match(seen.refused.message, /ai_credits_bg\.wasm/);
    assert.equal(seen.unknown, 'unknown_model', "the estimator module's errors are the entry's AiCreditsError");
  });
}

test('the whole module is loaded on first need, and a failed load is tried again', () => {
  // Proves the lazy load: a Ledger refused while the file is missing is made once it is back, and takes a TokenCounter of the estimator's module as text_tokens.
  const dir = packageCopy('comes-back');
  const seen = run(dir, 'node.js', `
    let first = null;
    try { ac.Catalogue.default(); } catch (e) { first = e.code; }
    (await import('node:fs')).copyFileSync(${JSON.stringify(join(root, 'pkg/ai_credits_bg.wasm'))}, ${JSON.stringify(join(dir, 'ai_credits_bg.wasm'))});
    const ledger = new ac.Ledger(${ACCOUNT});
    const counter = new ac.TokenCounter('claude-sonnet-4-6');
    counter.setText(${JSON.stringify(TEXT)});
    const at = '2026-01-02T00:00:00Z';
    const byCounter = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text_tokens: counter }, at);
    const byText = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text: ${JSON.stringify(TEXT)} }, at);
    return { first, available: ledger.balance(at).available, same: JSON.stringify(byCounter) === JSON.stringify(byText) };`);
  assert.equal(seen.first, 'not_initialized');
  assert.equal(seen.available, 3_000_000);
  assert.equal(seen.same, true, 'the estimator module counts what the whole module counts from the text');
});

test('init() and initSync() load the whole module in Node, for code written for every runtime', () => {
  // Proves isomorphic code (await init(), or initSync() without arguments) works on the lazy entry: both load the whole module from disk instead of fetching.
  const dir = packageCopy('init');
  copyFileSync(join(root, 'pkg/ai_credits_bg.wasm'), join(dir, 'ai_credits_bg.wasm'));
  for (const call of ['await ac.default()', 'ac.initSync()']) {
    const seen = run(dir, 'node.js', `${call}; return ac.Catalogue.default().platformName;`);
    assert.equal(typeof seen, 'string');
    assert.ok(seen.length > 0);
  }
});

test("Node's four entries, imported and required together, throw errors of one AiCreditsError class", () => {
  // Proves each bundle's own copy of errors.js takes the class the first one registered: instanceof holds across ESM and CommonJS, ai-credits and ai-credits/tokens.
  const dir = join(root, 'pkg');
  const seen = run(dir, 'node.js', `
    const { createRequire } = await import('node:module');
    const require = createRequire(${JSON.stringify(join(dir, 'node.js'))});
    const entries = [ac, await import(${JSON.stringify(join(dir, 'tokens-node.js'))}), require('./node.cjs'), require('./tokens-node.cjs')];
    return entries.map((m) => {
      try { new m.TokenCounter('gpt-9'); return 'no error'; } catch (e) {
        return entries.map((other) => e instanceof other.AiCreditsError && other.AiCreditsError === ac.AiCreditsError
          && other.AiCreditsError.name === 'AiCreditsError' && e.code === 'unknown_model');
      }
    });`);
  assert.deepEqual(seen, Array(4).fill(Array(4).fill(true)));
});
