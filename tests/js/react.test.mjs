// `ai-credits/react` as an app uses it, in React's StrictMode (effects mounted, unmounted and
// mounted again): with React Testing Library on jsdom, and in Chromium, the example app
// (examples/react-vite, built by Vite) whose <AiCreditsProvider> connects to a real
// `ai-credits serve`. Components are written with
// createElement, so nothing needs a JSX transform.
import 'global-jsdom/register';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrictMode, createElement as h } from 'react';
import { act, cleanup, fireEvent, render } from '@testing-library/react';
import { Ledger, estimateTokens } from 'ai-credits';
import { useAiCredits, useLedger, useMessageEstimate, useTokenCounter } from 'ai-credits/react';
import { freePort, launchChromium, startServer, stopServer } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/debug/ai-credits');
const account = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };
const AT = '2026-01-02T00:00:00Z';

/** A composer: a textarea counted by splices, its estimate on an offline ledger. */
function Composer({ model, seen }) {
  const { ledger } = useLedger(account);
  const field = useTokenCounter(model);
  const estimate = useMessageEstimate(field.counter, model, { source: ledger });
  seen.ledger = ledger ?? seen.ledger;
  return h('div', null,
    h('textarea', { 'aria-label': 'Message', ...field.bind }),
    h('output', { 'data-testid': 'tokens' }, String(field.tokens)),
    h('output', { 'data-testid': 'high' }, estimate ? String(estimate.credits.high) : 'none'));
}

test('a StrictMode composer counts every edit and estimates it, and unmounting frees what it made', async () => {
  // Proves the hooks survive StrictMode's double effects (the useMemo + free() crash a user hit), follow typing edit by edit, agree with the core computed directly, and free their ledger on unmount.
  const seen = {};
  const view = render(h(StrictMode, null, h(Composer, { model: 'gpt-5', seen })));
  const box = view.getByLabelText('Message');
  const reference = new Ledger(account);
  let text = '';
  for (const word of ['How ', 'many ', 'bookings ', 'today?', ' And 😀 emoji.']) {
    text += word;
    await act(async () => { fireEvent.change(box, { target: { value: text } }); });
    assert.equal(Number(view.getByTestId('tokens').textContent), estimateTokens(text, 'gpt-5'), `tokens of ${JSON.stringify(text)}`);
  }
  // An edit in the middle, then a deletion.
  text = text.replace('many', 'few');
  await act(async () => { fireEvent.change(box, { target: { value: text } }); });
  assert.equal(Number(view.getByTestId('tokens').textContent), estimateTokens(text, 'gpt-5'));
  const direct = reference.estimateMessage({ model: 'gpt-5', text });
  assert.equal(Number(view.getByTestId('high').textContent), direct.credits.high, 'the estimate is the core\'s');
  const { ledger } = seen;
  assert.ok(ledger.balance(AT).available > 0, 'the ledger the component used is alive while mounted');
  view.unmount();
  assert.throws(() => ledger.balance(AT), (e) => e.code === 'freed', 'unmounting freed it');
  reference.free();
  cleanup();
});

test('useMessageEstimate counts a plain string and follows it, and a model change counts anew', async () => {
  // Proves the string form: re-rendered with new text or another model, the estimate's input tokens are the core's count of it.
  function Estimate({ text, model }) {
    const { ledger } = useLedger(account);
    const estimate = useMessageEstimate(text, model, { source: ledger });
    return h('output', { 'data-testid': 'input' }, estimate ? String(estimate.input_tokens.expected) : 'none');
  }
  const view = render(h(StrictMode, null, h(Estimate, { text: 'Hello there', model: 'gpt-5' })));
  const reference = new Ledger(account);
  const expected = (text, model) => String(reference.estimateMessage({ model, text }).input_tokens.expected);
  assert.equal(view.getByTestId('input').textContent, expected('Hello there', 'gpt-5'));
  view.rerender(h(StrictMode, null, h(Estimate, { text: 'Summarise this week compared with last week, by product.', model: 'gpt-5' })));
  assert.equal(view.getByTestId('input').textContent, expected('Summarise this week compared with last week, by product.', 'gpt-5'));
  view.rerender(h(StrictMode, null, h(Estimate, { text: 'Summarise this week compared with last week, by product.', model: 'claude-sonnet-4-6' })));
  await act(async () => {});
  assert.equal(view.getByTestId('input').textContent, expected('Summarise this week compared with last week, by product.', 'claude-sonnet-4-6'));
  reference.free();
  cleanup();
});

test('useAiCredits outside a provider is a coded error', () => {
  // Proves the hook names what is missing instead of failing on a null context.
  let caught = null;
  function Lost() {
    try {
      useAiCredits();
    } catch (e) {
      caught = e;
    }
    return null;
  }
  render(h(Lost));
  assert.equal(caught?.code, 'not_initialized');
  assert.match(caught.message, /AiCreditsProvider/);
  cleanup();
});

test('in Chromium, the example app (StrictMode) connects through <AiCreditsProvider> and estimates as a person types', { timeout: 120_000 }, async () => {
  // Proves the provider against a real server on the page's origin: the client connects once per mount (StrictMode's first one freed), the balance shows, typing updates the estimate, and nothing throws in the page.
  const ADMIN = `react-test-admin-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ai-credits-react-'));
  // The repository's example app (examples/react-vite), built as its README says.
  const app = join(root, 'examples/react-vite');
  const dist = join(root, 'tests/js/out/packaging/react-vite');
  execFileSync(process.execPath, [join(root, 'www/node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn', '--outDir', dist, '--emptyOutDir'],
    { cwd: app, encoding: 'utf8' });

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  let server;
  let browser;
  try {
    server = await startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', join(dir, 'ai-credits.db'), '--www', dist], { AI_CREDITS_ADMIN_TOKEN: ADMIN });
    const api = async (path, token, body) => (await fetch(base + path, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })).json();
    const account_id = (await api('/v1/accounts', ADMIN, { plan: 'growth' })).id;
    const token = (await api(`/v1/accounts/${account_id}/tokens`, ADMIN, { member: 'ana', role: 'member' })).token;
    browser = await launchChromium();
    const page = await browser.newPage();
    page.setDefaultTimeout(15_000);
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript((session) => sessionStorage.setItem('ai-credits:session', session), JSON.stringify({ account_id, token }));
    await page.goto(`${base}/`);
    await page.locator('#available').waitFor();
    assert.equal(await page.locator('#available').textContent(), '3000000');
    const box = page.getByLabel('Message');
    const seen = [];
    for (const word of ['How ', 'many ', 'bookings ', 'today?']) {
      const before = await page.locator('#estimate').textContent();
      await box.pressSequentially(word);
      // React renders after the keystrokes' events: read once it has (or after 5 s, and fail below).
      await page.waitForFunction((prev) => document.getElementById('estimate').textContent !== prev, before, { timeout: 5_000 })
        .catch(() => undefined);
      seen.push(Number((await page.locator('#estimate').textContent()).split(' ')[0]));
    }
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `the estimate follows typing: ${seen}`);
    assert.deepEqual(errors, [], 'nothing threw in the page');
  } finally {
    await browser?.close();
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
