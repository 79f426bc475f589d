// Pages of another origin than the server's, in headless Chromium: `serve --cors-origin` lets
// the package's Client connect, hold and read refusals from an allowed origin; a page of an
// origin not named is refused by the browser, and the Client's `offline` error says that a
// refused origin may be why, and what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { freePort, launchChromium, startServer, stopServer } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/debug/ai-credits');
const pkgDir = process.env.AI_CREDITS_PKG ?? join(root, 'pkg');
const ADMIN = `cors-test-admin-${process.pid}`;
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

const pageHtml = `<!doctype html><meta charset="utf-8"><title>another origin</title>
<script type="module">
  import init, * as ac from '/pkg/index.js';
  await init();
  window.ac = ac;
  window.ready = true;
</script>`;

/** A static site of its own origin: the page above and the package under /pkg/. */
function startSite() {
  const site = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    try {
      const body = path === '/' ? pageHtml : readFileSync(join(pkgDir, path.replace(/^\/pkg\//, '')));
      res.setHeader('content-type', types[extname(path)] ?? 'text/html');
      res.end(body);
    } catch {
      res.statusCode = 404;
      res.end();
    }
  });
  return new Promise((resolve) => site.listen(0, '127.0.0.1', () => resolve(site)));
}

test('a page of an allowed origin uses the server; another origin is told why it cannot', { timeout: 60_000 }, async () => {
  // Proves --cors-origin: preflights name only the allowed origin, the Client connects, holds and reads a refusal's code from that origin's page, and a page of an origin not named gets `offline` naming its origin and the flag.
  const dir = mkdtempSync(join(tmpdir(), 'ai-credits-cors-'));
  const allowed = await startSite();
  const other = await startSite();
  const origin = (site) => `http://127.0.0.1:${site.address().port}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server;
  let browser;
  try {
    server = await startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', join(dir, 'ai-credits.db'), '--cors-origin', origin(allowed)],
      { AI_CREDITS_ADMIN_TOKEN: ADMIN });
    const api = async (method, path, token, body) => {
      const response = await fetch(base + path, {
        method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
      });
      return response.json();
    };
    const account_id = (await api('POST', '/v1/accounts', ADMIN, { plan: 'growth' })).id;
    const member = (await api('POST', `/v1/accounts/${account_id}/tokens`, ADMIN, { member: 'ana', role: 'member' })).token;

    const preflight = async (from) => {
      const response = await fetch(`${base}/v1/accounts/${account_id}/events`, {
        method: 'OPTIONS',
        headers: { origin: from, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
      return response.headers.get('access-control-allow-origin');
    };
    assert.equal(await preflight(origin(allowed)), origin(allowed));
    assert.equal(await preflight(origin(other)), null, 'an origin not named is not allowed');

    browser = await launchChromium();
    const open = async (site) => {
      const page = await browser.newPage();
      page.setDefaultTimeout(15_000);
      await page.goto(`${origin(site)}/`);
      await page.waitForFunction(() => window.ready === true);
      return page;
    };
    const options = { base_url: base, account_id, token: member };

    const page = await open(allowed);
    const seen = await page.evaluate(async (options) => {
      const client = await window.ac.Client.connect(options);
      const online = client.status.online;
      const outcome = await client.hold({ credits: 4000, expires_in_ms: 600_000, id: 'cors-hold' });
      let refused = 'none';
      try {
        await client.hold({ credits: 1_000_000_000_000, expires_in_ms: 60_000 });
      } catch (e) {
        refused = e.code;
      }
      return { online, duplicate: outcome.duplicate, held: client.balance().held, refused };
    }, options);
    assert.deepEqual(seen, { online: true, duplicate: false, held: 4000, refused: 'insufficient_credits' });
    const state = await api('GET', `/v1/accounts/${account_id}/state`, member);
    assert.equal(state.held, 4000, 'the hold reached the server');

    const stranger = await open(other);
    const error = await stranger.evaluate(async (options) => {
      try {
        await window.ac.Client.connect({ ...options, storage_key: 'none-here' });
        return { code: 'connected' };
      } catch (e) {
        return { code: e.code, message: e.message };
      }
    }, options);
    assert.equal(error.code, 'offline');
    assert.ok(error.message.includes(`refused this page's origin ${origin(other)}`), error.message);
    assert.ok(error.message.includes(`--cors-origin ${origin(other)}`), error.message);
  } finally {
    await browser?.close();
    await stopServer(server);
    allowed.close();
    other.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
