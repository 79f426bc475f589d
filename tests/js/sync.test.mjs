// The browser's sync client (`Client`) in headless Chromium against a real `ai-credits serve`:
// connect, optimistic holds, delta sync, offline previews, the localStorage fallback, catching up
// after a restart, and a retried POST charged once. Chromium is Debian's (never downloaded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { freePort, launchChromium, startServer, stopServer } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/debug/ai-credits');
const pkgDir = process.env.AI_CREDITS_PKG ?? join(root, 'pkg');
const ADMIN = `sync-test-admin-${process.pid}`;
const types = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm' };

const page_html = `<!doctype html><meta charset="utf-8"><title>ai-credits sync</title>
<script type="module">
  import init, * as ac from '/pkg/index.js';
  await init();
  window.ac = ac;
  window.ready = true;
</script>`;

/** A JSON call to the server at `base`: (method, path, bearer token, body?) → {status, body}. */
function apiOf(base) {
  return async (method, path, token, body) => {
    const response = await fetch(base + path, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: response.status, body: await response.json() };
  };
}

/** `ai-credits serve` with the static files of `www`, keeping client times (the test dates its events). */
function startSyncServer({ port, db, www }) {
  return startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', db, '--www', www, '--allow-client-time'],
    { AI_CREDITS_ADMIN_TOKEN: ADMIN });
}

test('the sync client previews at once, syncs what the server decided, and works offline', { timeout: 60_000 }, async () => {
  // Proves Client against a real server: pending holds shown at once then confirmed, a commit synced by delta, offline previews with growing staleness, the localStorage fallback after a reload, catch-up after a restart, and a retried POST charged once.
  assert.ok(readFileSync(join(pkgDir, 'ai_credits.js'), 'utf8').includes('class Client'), `${pkgDir} has no Client: build the package first`);
  const dir = mkdtempSync(join(tmpdir(), 'ai-credits-sync-'));
  const www = join(dir, 'www');
  cpSync(pkgDir, join(www, 'pkg'), { recursive: true });
  writeFileSync(join(www, 'index.html'), page_html);
  const db = join(dir, 'ai-credits.db');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server;
  let browser;
  try {
    server = await startSyncServer({ port, db, www });
    const api = apiOf(base);
    const anchor = new Date(Date.now() - 24 * 3600 * 1000).toISOString();
    const created = await api('POST', '/v1/accounts', ADMIN, { plan: 'growth', cycle_anchor: anchor });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const account_id = created.body.id;
    const token = async (role) => (await api('POST', `/v1/accounts/${account_id}/tokens`, ADMIN, { member: `${role}-1`, role })).body.token;
    const member = await token('member');
    const service = await token('service');
    const post = (tok, event) => api('POST', `/v1/accounts/${account_id}/events`, tok, { at: new Date().toISOString(), ...event });

    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const load = async () => {
      await page.goto(`${base}/`);
      await page.waitForFunction(() => window.ready === true);
    };
    await load();
    const options = { base_url: '', account_id, token: member };

    // Connect: the whole log (empty) is loaded and replayed.
    const start = await page.evaluate(async (options) => {
      window.client = await window.ac.Client.connect(options);
      return { status: window.client.status, balance: window.client.balance() };
    }, options);
    assert.equal(start.status.online, true);
    assert.equal(start.status.cursor, 0);
    const available0 = start.balance.available;
    assert.ok(available0 > 10_000);

    // A hold is held at once (pending), then confirmed by the server.
    const held = await page.evaluate(async () => {
      const sent = window.client.hold({ credits: 5000, expires_in_ms: 600_000, feature: 'assistant', id: 'h1' });
      const at_once = { balance: window.client.balance(), pending: window.client.status.pending_holds };
      const outcome = await sent;
      return { at_once, outcome, after: window.client.balance(), status: window.client.status };
    });
    assert.equal(held.at_once.pending, 1);
    assert.equal(held.at_once.balance.held, 5000);
    assert.equal(held.at_once.balance.available, available0 - 5000);
    assert.equal(held.outcome.duplicate, false);
    assert.equal(held.status.pending_holds, 0);
    assert.equal(held.status.cursor, 1);
    assert.equal(held.after.held, 5000);

    // A refused hold rejects with the server's code and is no longer shown.
    const refused = await page.evaluate(async () => {
      try {
        await window.client.hold({ credits: 1_000_000_000_000, expires_in_ms: 60_000 });
        return { code: 'none' };
      } catch (e) {
        return { code: e.code, pending: window.client.status.pending_holds, held: window.client.balance().held };
      }
    });
    assert.deepEqual(refused, { code: 'insufficient_credits', pending: 0, held: 5000 });
    const forbidden = await page.evaluate(() =>
      window.client.send({ kind: 'usage', model: 'gpt-5', input_tokens: 1 }).then(() => 'accepted', (e) => e.code));
    assert.equal(forbidden, 'forbidden');

    // The service commits the hold; a delta sync shows the commit's entry and the new balance.
    const commit = await post(service, { kind: 'commit', id: 'c1', hold: 'h1', model: 'gpt-5', input_tokens: 900, output_tokens: 400 });
    assert.equal(commit.status, 200, JSON.stringify(commit.body));
    const synced = await page.evaluate(async () => {
      const status = await window.client.sync();
      return { status, entries: window.client.entries(), balance: window.client.balance() };
    });
    assert.equal(synced.status.online, true);
    assert.equal(synced.status.new_events, 1);
    assert.deepEqual(synced.entries.map((e) => [e.id, e.credits]), [['c1', 3075]]);
    assert.equal(synced.balance.held, 0);
    assert.equal(synced.balance.available, available0 - 3075);
    const state = await api('GET', `/v1/accounts/${account_id}/state?at=${encodeURIComponent(synced.balance.at)}`, member);
    assert.equal(state.body.available, synced.balance.available);
    assert.deepEqual(state.body.monthly, synced.balance.monthly);

    // Key states are part of the synced state (posted as events by the platform, as on any replay
    // server, SPEC §5.1): an xAI key connected on the server makes Grok
    // pickable and estimated on the own key; the key turning invalid takes it away again.
    assert.equal((await post(ADMIN, { kind: 'connect_key', provider: 'xai' })).status, 200);
    const keyed = await page.evaluate(async () => {
      await window.client.sync();
      return {
        keys: window.client.keys(),
        models: window.client.availableModels().map((m) => m.id),
        billed: window.client.estimateMessage({ model: 'grok-4', text: 'Which kayaks are free on Saturday?' }).billed_to,
      };
    });
    assert.deepEqual(keyed.keys, { xai: 'connected' });
    assert.ok(keyed.models.includes('grok-4'));
    assert.equal(keyed.billed, 'own_key');
    assert.equal((await post(ADMIN, { kind: 'key_invalid', provider: 'xai' })).status, 200);
    const invalid = await page.evaluate(async () => {
      await window.client.sync();
      return {
        keys: window.client.keys(),
        models: window.client.availableModels().map((m) => m.id),
        message: window.ac.Catalogue.default().billingMessage('xai'),
      };
    });
    assert.deepEqual(invalid.keys, { xai: 'invalid' });
    assert.ok(!invalid.models.includes('grok-4'));
    assert.match(invalid.message, /^Your xAI account is out of credits or has a billing issue\./);

    // The server stops: sync reports offline (no throw), previews still work, staleness grows.
    await stopServer(server);
    const offline = await page.evaluate(async () => {
      const status = await window.client.sync();
      const first = window.client.status.stale_ms;
      await new Promise((r) => setTimeout(r, 80));
      return {
        status, first, later: window.client.status.stale_ms,
        preview: window.client.preview({ kind: 'usage', model: 'gpt-5', input_tokens: 900, output_tokens: 400 }),
        estimate: window.client.estimateMessage({ model: 'gpt-5', text: 'How many bookings do we have today?' }),
        models: window.client.availableModels().length,
        forecast: window.client.forecast(),
        report: window.client.report(),
        keys: window.client.keys(),
      };
    });
    assert.equal(offline.status.online, false);
    assert.equal(offline.status.new_events, 0);
    assert.equal(offline.status.cursor, 4); // h1, c1, and the two key events
    assert.ok(offline.later >= offline.first + 50, `${offline.first} → ${offline.later}`);
    assert.equal(offline.preview.credits, 3075);
    assert.equal(offline.preview.available_after, available0 - 2 * 3075);
    assert.ok(offline.estimate.credits.high > 0);
    assert.ok(offline.models > 0);
    assert.ok(offline.forecast.burn.credits >= 3075);
    assert.equal(offline.report.entries.length, 1);
    assert.deepEqual(offline.keys, { xai: 'invalid' }); // key states are kept offline too

    // Reload while the server is down (the page's files come from disk): connect falls back to
    // the stored copy, which never holds the token; without a copy, it rejects `offline`.
    await page.route((url) => !url.pathname.startsWith('/v1/'), (route) => {
      const path = new URL(route.request().url()).pathname;
      const file = join(www, path === '/' ? 'index.html' : path);
      route.fulfill({ status: 200, contentType: types[extname(file)] ?? 'application/octet-stream', body: readFileSync(file) });
    });
    await load();
    const fallback = await page.evaluate(async ({ options, token }) => {
      window.client = await window.ac.Client.connect(options);
      let none;
      try {
        await window.ac.Client.connect({ ...options, storage_key: 'no-copy-here' });
        none = 'connected';
      } catch (e) {
        none = e.code;
      }
      const stored = Object.keys(localStorage).map((k) => localStorage.getItem(k)).join('\n');
      return {
        status: window.client.status, balance: window.client.balance(), none,
        token_stored: stored.includes(token), stored_bytes: stored.length,
      };
    }, { options, token: member });
    assert.equal(fallback.status.online, false);
    assert.equal(fallback.status.cursor, 4);
    assert.ok(fallback.status.stale_ms >= offline.later, `${fallback.status.stale_ms}`);
    assert.equal(fallback.balance.available, available0 - 3075);
    assert.equal(fallback.none, 'offline');
    assert.equal(fallback.token_stored, false);
    assert.ok(fallback.stored_bytes > 0 && fallback.stored_bytes < 64 * 1024, `${fallback.stored_bytes}`);

    // The server restarts on the same port and database; an event posted meanwhile is caught up.
    server = await startSyncServer({ port, db, www });
    await page.unrouteAll({ behavior: 'ignoreErrors' });
    const usage = await post(service, { kind: 'usage', id: 'u2', model: 'gpt-5', input_tokens: 900, output_tokens: 400 });
    assert.equal(usage.status, 200, JSON.stringify(usage.body));
    const caught_up = await page.evaluate(async () => {
      const status = await window.client.sync();
      return { status, ids: window.client.entries().map((e) => e.id), balance: window.client.balance() };
    });
    assert.equal(caught_up.status.online, true);
    assert.equal(caught_up.status.new_events, 1);
    assert.ok(caught_up.status.stale_ms < 1000);
    assert.deepEqual(caught_up.ids, ['c1', 'u2']);
    assert.equal(caught_up.balance.available, available0 - 2 * 3075);

    // A POST whose answer is lost (the server took it; the page sees a network error) is retried
    // with the same id and charged once.
    let attempts = 0;
    await page.route('**/v1/accounts/*/events', async (route) => {
      attempts += 1;
      if (attempts === 1) {
        await route.fetch();
        await route.abort('failed');
      } else {
        await route.continue();
      }
    });
    const retried = await page.evaluate(async ({ options, service }) => {
      const svc = await window.ac.Client.connect({ ...options, token: service, storage_key: 'service-copy' });
      const outcome = await svc.send({ kind: 'usage', id: 'u-retry', model: 'gpt-5', input_tokens: 900, output_tokens: 400 });
      // A new client knows the entries it synced; older ones come page by page.
      const synced = svc.entries().map((e) => e.id);
      const page = await svc.entriesPage();
      return { outcome, synced, page, ids: svc.entries().map((e) => e.id), status: svc.status };
    }, { options, service });
    assert.equal(attempts, 2);
    assert.equal(retried.outcome.duplicate, true);
    assert.deepEqual(retried.synced, ['u-retry']);
    assert.deepEqual(retried.page.entries.map((e) => e.id), ['c1', 'u2']);
    assert.equal(retried.page.before, null);
    assert.deepEqual(retried.ids, ['c1', 'u2', 'u-retry']);
    const after = await api('GET', `/v1/accounts/${account_id}/state`, member);
    assert.equal(after.body.entries.filter((e) => e.id === 'u-retry').length, 1);
    assert.equal(after.body.available, available0 - 3 * 3075);
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a browser Client of a server on its own catalogue previews what the server charges, to the credit', { timeout: 60_000 }, async () => {
  // Proves Client takes the catalogue its checkpoint names from /v1/catalogue (not the built-in one): its preview of a usage equals the credits the server then charges, which the built-in prices would not give.
  const dir = mkdtempSync(join(tmpdir(), 'ai-credits-sync-cat-'));
  const www = join(dir, 'www');
  cpSync(pkgDir, join(www, 'pkg'), { recursive: true });
  writeFileSync(join(www, 'index.html'), page_html);
  const builtin = JSON.parse(readFileSync(join(root, 'catalogue/catalogue.json'), 'utf8'));
  const gpt5 = builtin.models.find((m) => m.id === 'gpt-5');
  gpt5.rates.output = gpt5.rates.output * 2;
  const catalogue = join(dir, 'catalogue.json');
  writeFileSync(catalogue, JSON.stringify(builtin));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server;
  let browser;
  try {
    server = await startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', join(dir, 'db.sqlite'), '--www', www, '--catalogue', catalogue, '--checkpoint-every', '1'],
      { AI_CREDITS_ADMIN_TOKEN: ADMIN });
    const api = apiOf(base);
    const created = await api('POST', '/v1/accounts', ADMIN, { plan: 'growth' });
    const account_id = created.body.id;
    const token = async (role) => (await api('POST', `/v1/accounts/${account_id}/tokens`, ADMIN, { member: `${role}-1`, role })).body.token;
    const member = await token('member');
    const service = await token('service');
    const usage = { kind: 'usage', model: 'gpt-5', input_tokens: 12_345, output_tokens: 6_789 };
    assert.equal((await api('POST', `/v1/accounts/${account_id}/events`, service, { ...usage, id: 'warm-up' })).status, 200);
    browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.waitForFunction(() => window.ready === true);
    const seen = await page.evaluate(async ({ options, usage }) => {
      const client = await window.ac.Client.connect(options);
      const builtin = new window.ac.Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' });
      return { preview: client.preview(usage), builtin: builtin.preview(usage, '2026-01-02T00:00:00Z') };
    }, { options: { base_url: '', account_id, token: member }, usage });
    const charged = await api('POST', `/v1/accounts/${account_id}/events`, service, { ...usage, id: 'priced' });
    assert.equal(charged.status, 200, JSON.stringify(charged.body));
    assert.equal(seen.preview.credits, charged.body.entry.credits);
    assert.notEqual(seen.builtin.credits, charged.body.entry.credits, 'the custom catalogue prices differently');
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
