// The npm package imported by a plain browser page (no bundler) in headless Chromium: the
// `default` export path of pkg/package.json, its init() and its API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, extname } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };
const page = `<!doctype html><meta charset="utf-8"><title>ai-credits import</title>
<pre id="out">loading</pre>
<script type="module">
  import init, { Catalogue, runScenario } from '/pkg/index.js';
  const out = document.getElementById('out');
  try {
    await init();
    const scenario = await (await fetch('/tests/scenarios/spec-example.json')).json();
    const result = runScenario(scenario);
    out.textContent = 'RESULT ' + JSON.stringify({ available: result.available, models: Catalogue.default().models().length });
  } catch (e) {
    out.textContent = 'ERROR ' + e;
  }
</script>`;

function serve() {
  const server = createServer(async (req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(page);
      return;
    }
    try {
      const body = await readFile(join(root, path));
      res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

test('a browser page imports the package, initialises it and runs a scenario', async () => {
  // Proves pkg/ works as plain ES modules in Chromium: import, init(), fetch of the .wasm, API.
  const server = await serve();
  const url = `http://127.0.0.1:${server.address().port}/`;
  const chromium = spawn('chromium', [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run', `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chromium-'))}`,
    '--virtual-time-budget=10000', '--dump-dom', url,
  ], { stdio: ['ignore', 'pipe', 'ignore'] });
  let dom = '';
  chromium.stdout.on('data', (chunk) => { dom += chunk; });
  const code = await new Promise((resolve) => chromium.on('close', resolve));
  server.close();
  assert.equal(code, 0);
  assert.match(dom, /RESULT \{"available":8987065,"models":8\}/);
});
