// The package as other projects consume it, built and run the way they would: a CommonJS
// script (`require`), an SSR bundle that inlines the package (Vite's `ssr.noExternal`), a
// bundled browser app (Vite, and webpack) and a Web Worker of one, in Chromium, and a Vitest
// suite. Each fixture lives in tests/js/out/ (ignored by git)
// and resolves `ai-credits` as an installed dependency (the repository's node_modules link to
// pkg/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join } from 'node:path';
import { launchChromium } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const vite = join(root, 'www/node_modules/vite/bin/vite.js');
const out = join(root, 'tests/js/out/packaging');

/** A fresh fixture directory `name` with `files` (path → text). */
function fixture(name, files) {
  const dir = join(out, name);
  rmSync(dir, { recursive: true, force: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const node = (args, cwd) => execFileSync(process.execPath, args, { cwd, encoding: 'utf8' });

test('a CommonJS script requires the package', () => {
  // Proves the `require` export: a .cjs script gets the API (loaded at require time), the error class and its codes.
  const dir = fixture('cjs', {
    'script.cjs': `
const { Ledger, estimateTokens, AiCreditsError, isAiCreditsError } = require('ai-credits');
const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
let code = null;
try { ledger.apply({ at: '2026-01-02T00:00:00Z', kind: 'usage', id: 'u', model: 'gpt-5', inputTokens: 1 }); }
catch (e) { code = e instanceof AiCreditsError && isAiCreditsError(e) ? e.code : 'not an AiCreditsError'; }
console.log(JSON.stringify({ tokens: estimateTokens('How many bookings today?', 'gpt-5'),
  available: ledger.balance('2026-01-02T00:00:00Z').available, code }));
`,
  });
  const seen = JSON.parse(node(['script.cjs'], dir));
  assert.ok(seen.tokens > 0);
  assert.equal(seen.available, 3_000_000);
  assert.equal(seen.code, 'invalid_event');
});

test('an SSR bundle that inlines the package runs in Node', () => {
  // Proves the Node entry finds its .wasm when a bundler moved the entry away from it (Vite ssr.noExternal), the ENOENT a user hit.
  const dir = fixture('ssr', {
    'entry.js': `
import { Ledger, estimateTokens } from 'ai-credits';
export function render() {
  const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
  return '<p>' + estimateTokens('How many bookings today?', 'gpt-5') + ' tokens, ' + ledger.balance('2026-01-02T00:00:00Z').available + ' credits</p>';
}
`,
    'vite.config.js': `export default { logLevel: 'warn', ssr: { noExternal: ['ai-credits'] }, build: { ssr: 'entry.js', outDir: 'dist' } };\n`,
    'run.mjs': `import { render } from './dist/entry.js'; console.log(render());\n`,
  });
  node([vite, 'build'], dir);
  assert.ok(!readFileSync(join(dir, 'dist/entry.js'), 'utf8').includes("from 'ai-credits'"), 'the package was inlined');
  assert.match(node(['run.mjs'], dir), /<p>\d+ tokens, 3000000 credits<\/p>/);
});

/** Builds the app in `dir` (Vite unless `build` says), serves its dist/ and resolves the text of #out in Chromium. */
async function runInChromium(dir, build = [vite, 'build']) {
  node(build, dir);
  const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };
  const site = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    try {
      const body = readFileSync(join(dir, 'dist', path === '/' ? 'index.html' : path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'text/html' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => site.listen(0, '127.0.0.1', resolve));
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${site.address().port}/`);
    await page.waitForFunction(() => !document.getElementById('out').textContent.startsWith('loading'), null, { timeout: 15_000 });
    return await page.locator('#out').textContent();
  } finally {
    await browser.close();
    site.close();
  }
}

for (const format of ['iife', 'es']) {
  test(`a Web Worker (Vite's ${format} worker format) estimates off the main thread`, async () => {
    // Proves the package in a worker: init() awaited in the message handler (no top-level await, which the iife format refuses), then estimates and ledgers as on the page.
    const dir = fixture(`worker-${format}`, {
      'index.html': '<!doctype html><meta charset="utf-8"><pre id="out">loading</pre><script type="module" src="./main.js"></script>\n',
      'main.js': `
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: ${JSON.stringify(format === 'es' ? 'module' : 'classic')} });
worker.onmessage = (e) => { document.getElementById('out').textContent = e.data; };
worker.onerror = (e) => { document.getElementById('out').textContent = 'ERROR ' + e.message; };
worker.postMessage('How many bookings today?');
`,
      'worker.js': `
import init, { Ledger, estimateTokens } from 'ai-credits';
const ready = init();
self.onmessage = async (e) => {
  try {
    await ready;
    const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
    const high = ledger.estimateMessage({ model: 'gpt-5', text: e.data }, '2026-01-02T00:00:00Z').credits.high;
    self.postMessage('RESULT ' + JSON.stringify({ tokens: estimateTokens(e.data, 'gpt-5'), high }));
  } catch (err) {
    self.postMessage('ERROR ' + err);
  }
};
`,
      'vite.config.js': `export default { logLevel: 'warn', worker: { format: '${format}' }, build: { outDir: 'dist', target: 'es2022' } };\n`,
    });
    const text = await runInChromium(dir);
    assert.match(text, /^RESULT /, text);
    const result = JSON.parse(text.slice('RESULT '.length));
    assert.ok(result.tokens > 0 && result.high > 0, text);
  });
}

test('a Vite app bundles the package and runs it in Chromium', async () => {
  // Proves the browser entry survives a bundler: Vite follows the .wasm URL, init() loads it, and the API and error class work in the page.
  const dir = fixture('vite-app', {
    'index.html': '<!doctype html><meta charset="utf-8"><pre id="out">loading</pre><script type="module" src="./main.js"></script>\n',
    'main.js': `
import init, { Ledger, TokenCounter, AiCreditsError } from 'ai-credits';
const out = document.getElementById('out');
try {
  await init();
  const counter = new TokenCounter('gpt-5');
  counter.setText('How many bookings today?');
  const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
  const estimate = ledger.estimateMessage({ model: 'gpt-5', text_tokens: counter }, '2026-01-02T00:00:00Z');
  counter.free();
  let code = null;
  try { counter.tokens; } catch (e) { code = e instanceof AiCreditsError ? e.code : String(e); }
  out.textContent = 'RESULT ' + JSON.stringify({ high: estimate.credits.high, code });
} catch (e) {
  out.textContent = 'ERROR ' + e;
}
`,
    'vite.config.js': `export default { logLevel: 'warn', build: { outDir: 'dist', target: 'es2022' } };\n`,
  });
  const text = await runInChromium(dir);
  assert.match(text, /^RESULT /, text);
  const result = JSON.parse(text.slice('RESULT '.length));
  assert.ok(result.high > 0);
  assert.equal(result.code, 'freed');
});

test('the Node example script runs and estimates on every model the account may use', () => {
  // Proves examples/node/estimate.mjs runs as its comment says: one line per model on credits (no own keys), each a credit range.
  const printed = node([join(root, 'examples/node/estimate.mjs'), 'Summarise this week by product'], root).trim().split('\n');
  const onCredits = JSON.parse(readFileSync(join(root, 'catalogue/catalogue.json'), 'utf8')).models.filter((m) => m.on_credits);
  assert.equal(printed.length, onCredits.length, printed.join('\n'));
  for (const line of printed) assert.match(line, /^.+: \d+–\d+ credits \(credits\)$/);
});

test('a webpack build bundles the package and runs it in Chromium', async () => {
  // Proves the browser entry under webpack 5: the .wasm URL becomes an emitted asset, init() loads it, and the API works in the page.
  const dir = fixture('webpack-app', {
    'src/main.js': `
import init, { Ledger, estimateTokens, isAiCreditsError } from 'ai-credits';
const out = document.getElementById('out');
init().then(() => {
  const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
  let code = null;
  try { ledger.apply({ at: '2026-01-02T00:00:00Z', kind: 'hold', id: 'h', credits: 1e12, expires_at: '2026-01-03T00:00:00Z' }); }
  catch (e) { code = isAiCreditsError(e) ? e.code : String(e); }
  out.textContent = 'RESULT ' + JSON.stringify({ tokens: estimateTokens('How many bookings today?', 'gpt-5'), code });
}, (e) => { out.textContent = 'ERROR ' + e; });
`,
    'dist/index.html': '<!doctype html><meta charset="utf-8"><pre id="out">loading</pre><script src="./main.js"></script>\n',
    'webpack.config.cjs': `module.exports = { mode: 'production', entry: './src/main.js', output: { path: __dirname + '/dist', filename: 'main.js', clean: false }, experiments: { topLevelAwait: true } };\n`,
  });
  const text = await runInChromium(dir, [join(root, 'node_modules/webpack/bin/webpack.js'), '--config', 'webpack.config.cjs']);
  assert.match(text, /^RESULT /, text);
  const result = JSON.parse(text.slice('RESULT '.length));
  assert.ok(result.tokens > 0);
  assert.equal(result.code, 'insufficient_credits');
});

test('a Vitest suite imports the package as a Node test would', () => {
  // Proves the Node entry under Vitest's module runner: the module loads at import and its errors are AiCreditsErrors.
  const dir = fixture('vitest-suite', {
    'estimate.spec.js': `
import { expect, test } from 'vitest';
import { Ledger, AiCreditsError, estimateTokens } from 'ai-credits';
test('estimates and refuses like the core', () => {
  expect(estimateTokens('How many bookings today?', 'gpt-5')).toBeGreaterThan(0);
  const ledger = new Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
  expect(() => ledger.apply({ at: 'nope', kind: 'usage' })).toThrow(AiCreditsError);
});
`,
    // Not *.test.js: `node --test tests/js/` would take the fixture for one of its own.
    'vitest.config.js': 'export default { test: { include: ["estimate.spec.js"], environment: "node" } };\n',
  });
  const printed = node([join(root, 'www/node_modules/vitest/vitest.mjs'), 'run', '--reporter=verbose'], dir);
  assert.match(printed, /estimates and refuses like the core/);
  assert.match(printed, /1 passed/);
});

test('an app that imports only ai-credits/tokens ships the estimator module alone', async () => {
  // Proves the estimator-only entry under Vite in Chromium: it counts in the page, and the build holds the small .wasm and not the whole package's.
  const dir = fixture('tokens-app', {
    'index.html': '<!doctype html><meta charset="utf-8"><pre id="out">loading</pre><script type="module" src="./main.js"></script>\n',
    'main.js': `
import init, { TokenCounter, estimateTokens } from 'ai-credits/tokens';
const out = document.getElementById('out');
init().then(() => {
  const counter = new TokenCounter('gpt-5');
  counter.setText('How many bookings');
  counter.splice(17, 0, ' today?');
  out.textContent = 'RESULT ' + JSON.stringify({ same: counter.tokens === estimateTokens('How many bookings today?', 'gpt-5'), tokens: counter.tokens });
}, (e) => { out.textContent = 'ERROR ' + e; });
`,
    'vite.config.js': `export default { logLevel: 'warn', build: { outDir: 'dist', target: 'es2022' } };\n`,
  });
  const text = await runInChromium(dir);
  assert.match(text, /^RESULT /, text);
  assert.deepEqual(JSON.parse(text.slice('RESULT '.length)), { same: true, tokens: 6 });
  const wasm = readdirSync(join(dir, 'dist/assets')).filter((f) => f.endsWith('.wasm'));
  assert.equal(wasm.length, 1, wasm.join(', '));
  assert.match(wasm[0], /^ai_credits_tokens_bg/);
  const whole = readFileSync(join(root, 'pkg/ai_credits_bg.wasm')).length;
  assert.ok(readFileSync(join(dir, 'dist/assets', wasm[0])).length < whole / 3, 'the estimator alone is a fraction of the whole');
});
