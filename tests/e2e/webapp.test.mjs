// The web app (www/, built on the npm package) end to end, in Debian's Chromium driven by
// playwright-core, against a real `ai-credits serve --demo` with an SQLite file: messages go
// through the gateway to the demo's stand-in Anthropic, and keys are tested against a fake
// provider on loopback. The tests run in order on one demo account, like one person's
// session: type, send, buy, connect and remove a key, run out of credits, lose the server and
// get it back. Each saves a screenshot in target/e2e-screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer as createHttpServer } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchChromium, startServer, stopServer } from '../js/processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/debug/ai-credits');
const www = join(root, 'www/dist');
const shots = process.env.E2E_SCREENSHOTS ?? join(root, 'target/e2e-screenshots');
const ADMIN = `e2e-admin-${process.pid}`;
/** The one key the fake provider accepts. */
const GOOD_KEY = 'xai-e2e-good-key-7731';
const ACCOUNT = 'acc_demo';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

let dir;
let port;
let base;
let server;
let provider;
let browser;
let page;
let service; // a service token of the demo account (the host app's backend)
let admin; // an admin token of the demo account, for reading state through the API
const pageErrors = [];

/** A provider that accepts GOOD_KEY on `GET /v1/models` and refuses others as OpenAI and xAI do (401). */
function startProvider() {
  const fake = createHttpServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    res.setHeader('content-type', 'application/json');
    if (req.url === '/v1/models' && auth === `Bearer ${GOOD_KEY}`) {
      res.end(JSON.stringify({ object: 'list', data: [{ id: 'grok-4', object: 'model' }] }));
    } else {
      res.statusCode = 401;
      res.end(JSON.stringify({ error: { message: 'Incorrect API key provided.', type: 'invalid_request_error', code: 'invalid_api_key' } }));
    }
  });
  return new Promise((resolve) => fake.listen(0, '127.0.0.1', () => resolve(fake)));
}

/** Starts the demo server on `port` (the same database every time) once it says it listens. */
function startDemoServer() {
  const fakeBase = `http://127.0.0.1:${provider.address().port}`;
  return startServer(bin, ['--demo', '--addr', `127.0.0.1:${port}`, '--db', join(dir, 'demo.db'), '--www', www, '--webhooks-allow-private'], {
    AI_CREDITS_ADMIN_TOKEN: ADMIN,
    AI_CREDITS_PROVIDER_BASE_XAI: fakeBase,
    AI_CREDITS_PROVIDER_BASE_OPENAI: fakeBase,
    AI_CREDITS_DEMO_REPLY_DELAY_MS: '600',
  });
}

async function api(method, path, token, body) {
  const response = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await response.json();
  assert.ok(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`);
  return json;
}

const state = () => api('GET', `/v1/accounts/${ACCOUNT}/state`, admin);
async function shot(name) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}
const number = (text) => Number(String(text).replace(/[^0-9]/g, ''));
const estimateData = () => page.locator('[data-testid=estimate]').evaluate((el) => ({ ...el.dataset, text: el.textContent }));

before(async () => {
  assert.ok(existsSync(join(www, 'index.html')), `${www} is missing: build the web app first (npm run build in www/)`);
  mkdirSync(shots, { recursive: true });
  dir = mkdtempSync(join(tmpdir(), 'ai-credits-e2e-'));
  port = await freePort();
  base = `http://127.0.0.1:${port}`;
  provider = await startProvider();
  server = await startDemoServer();
  const session = await (await fetch(`${base}/v1/demo/session`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json();
  admin = session.token;
  service = (await api('POST', `/v1/accounts/${ACCOUNT}/tokens`, ADMIN, { member: 'host-app', role: 'service' })).token;
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(15_000);
  page.on('pageerror', (e) => pageErrors.push(e.message));
  await page.goto(`${base}/#/assistant`);
  await page.locator('[data-testid=estimate]').waitFor();
});

after(async () => {
  await browser?.close();
  assert.deepEqual(pageErrors, [], 'the page threw no uncaught errors');
  await stopServer(server);
  provider?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('typing updates the estimate on every keystroke', async () => {
  // Proves the composer's estimate follows each keystroke (TokenCounter + estimateMessage) and grows with the text.
  const empty = await estimateData();
  assert.match(empty.text, /Type a message/);
  const composer = page.locator('#message');
  await composer.click();
  const seen = [];
  for (const word of ['How ', 'many ', 'bookings ', 'today?']) {
    await composer.pressSequentially(word);
    seen.push(await estimateData());
  }
  const tokens = seen.map((e) => Number(e.inputTokens));
  for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i] > tokens[i - 1], `input tokens grow word by word: ${tokens}`);
  assert.match(seen.at(-1).text, /credits · ≈ (\$[0-9.]+|< 1¢) AI cost · after this message you will have ≈ [0-9.]+[kM]? credits/);
  const short = Number(seen.at(-1).high);
  await composer.pressSequentially(' Which products were booked most this week, and by which customers? Give me a table.');
  const long = await estimateData();
  assert.ok(Number(long.high) > short, `a longer message costs more: ${short} -> ${long.high}`);
  assert.equal(long.billedTo, 'credits');
  await shot('01-estimate');
});

test("the seeds' task is estimated above the seeds' question, and each costs what its range said", async () => {
  // Proves the help page's two examples: "Create a booking for three products over five days" reads as a task and estimates more, at every end, than "How many bookings today?"; sent one after the other, each is charged within the range shown before it was sent.
  const composer = page.locator('#message');
  const typed = await composer.inputValue();
  await composer.fill('How many bookings today?');
  const question = await estimateData();
  await composer.fill('Create a booking for three products over five days');
  const task = await estimateData();
  assert.equal(question.task, 'false');
  assert.equal(task.task, 'true');
  for (const end of ['low', 'expected', 'high']) {
    assert.ok(Number(task[end]) > Number(question[end]) || (end === 'low' && Number(task.low) >= Number(question.low)),
      `${end}: task ${task[end]} vs question ${question[end]}`);
  }
  const replies = page.locator('.turn.assistant');
  for (const text of ['How many bookings today?', 'Create a booking for three products over five days']) {
    await composer.fill(text);
    const est = await estimateData();
    const count = await replies.count();
    await page.getByRole('button', { name: 'Send' }).click();
    await replies.nth(count).locator('.cost').waitFor();
    const credits = number(await replies.nth(count).locator('.cost').textContent());
    assert.ok(Number(est.low) <= credits && credits <= Number(est.high), `"${text}" cost ${credits}, estimated ${est.low}–${est.high}`);
  }
  await composer.fill(typed);
});

test('a reply streams in through the gateway and the usage panel moves by exactly its credits', async () => {
  // Proves Send → the backend → the gateway → the stand-in provider: the reply grows in the conversation piece by piece as it streams, the turn then shows the gateway entry's credits, and the panel and the server agree to the credit.
  const before = await state();
  const panelBefore = number(await page.locator('[data-testid=usage-credits]').textContent());
  const replies = page.locator('.turn.assistant');
  const count = await replies.count();
  await page.evaluate(() => {
    window.__partials = [];
    new MutationObserver(() => {
      const text = document.querySelector('.turn.assistant[aria-busy=true] .text')?.textContent;
      if (text && window.__partials.at(-1) !== text) window.__partials.push(text);
    }).observe(document.querySelector('.conversation'), { subtree: true, childList: true, characterData: true });
  });
  await page.getByRole('button', { name: 'Send' }).click();
  await replies.nth(count).locator('.cost').waitFor();
  const reply = await replies.nth(count).locator('.text').textContent();
  const partials = await page.evaluate(() => window.__partials);
  assert.ok(partials.length >= 3, `the reply was seen growing: ${JSON.stringify(partials)}`);
  for (let i = 0; i < partials.length; i++) {
    assert.ok(reply.startsWith(partials[i]) && (i === 0 || partials[i].length > partials[i - 1].length), `piece ${i} is a growing prefix of the reply`);
  }
  const cost = await replies.nth(count).locator('.cost').textContent();
  const credits = number(cost);
  assert.ok(credits > 0, `the reply used credits: ${cost}`);
  await page.waitForFunction(
    ([sel, expected]) => Number(document.querySelector(sel)?.textContent.replace(/[^0-9]/g, '')) === expected,
    ['[data-testid=usage-credits]', panelBefore + credits],
  );
  const after = await state();
  assert.equal(after.held, 0, "the gateway's hold was closed by its commit");
  assert.equal(before.available - after.available, credits, 'the server charged exactly what the turn shows');
  assert.ok(after.entries.some((e) => e.id.startsWith('gw-msg-') && e.kind === 'commit' && e.credits === credits), 'the charge is the gateway call');
  assert.match(await replies.nth(count).locator('.text').textContent(), /How many bookings/i);
  await page.locator('#message').fill('And which of those customers booked again this month?');
  await page.locator('[data-testid=estimate-credits]').waitFor();
  await shot('02-sent');
});

test('a conversation sent in one browser is listed and readable in another browser of the same person', async () => {
  // Proves conversations live on the server: a second browser (a new context, a new session of the same member) lists the conversation under its first message and opens it with the reply and the credits it used.
  const first = page.locator('.turn.assistant').first();
  const used = await first.locator('.cost').textContent();
  const reply = await first.locator('.text').textContent();
  const session = await (await fetch(`${base}/v1/demo/session`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).json();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const other = await context.newPage();
    other.on('pageerror', (e) => pageErrors.push(e.message));
    await other.addInitScript((s) => sessionStorage.setItem('ai-credits:session', s), JSON.stringify(session));
    await other.goto(`${base}/#/assistant`);
    const list = other.getByTestId('conversations');
    await list.locator('summary', { hasText: 'Your conversations (1)' }).waitFor();
    await list.locator('summary').click();
    await list.locator('button.link', { hasText: /How many bookings today\?/ }).click();
    await other.locator('.turn.user', { hasText: 'How many bookings today?' }).first().waitFor();
    assert.equal(await other.locator('.turn.assistant .text').first().textContent(), reply);
    assert.equal(await other.locator('.turn.assistant .cost').first().textContent(), used);
    await other.screenshot({ path: join(shots, '02b-conversations.png'), fullPage: true });
  } finally {
    await context.close();
  }
});

test('a reply lost on its way back is charged once when the message is sent again', async () => {
  // Proves the retry path: the server charges but the browser never hears back; sending the same text again reuses the id, gets the reply, and the server charges nothing more. The message is a quick action, billed under its own feature.
  const text = 'Write a short, friendly description for this product.';
  let dropped = false;
  await page.route('**/assistant', async (route) => {
    if (dropped) return route.continue();
    dropped = true;
    await route.fetch(); // the server decides it…
    return route.abort('connectionreset'); // …and the answer is lost
  });
  try {
    const before = await state();
    await page.getByRole('button', { name: 'Write a product description' }).click();
    assert.equal(await page.locator('#message').inputValue(), text, 'the quick action fills the composer');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('The server did not answer').waitFor();
    assert.equal(await page.locator('#message').inputValue(), text, 'the message is back in the composer');
    const charged = await state();
    const credits = before.available - charged.available;
    assert.ok(credits > 0, 'the first attempt was charged on the server');
    const replies = page.locator('.turn.assistant');
    const count = await replies.count();
    await page.getByRole('button', { name: 'Send' }).click();
    await replies.nth(count).waitFor();
    const after = await state();
    assert.equal(after.available, charged.available, 'sending again charged nothing more');
    assert.equal(after.held, 0, 'no hold is left behind');
    assert.equal(number(await replies.nth(count).locator('.cost').textContent()), credits, 'the reply shows the one charge');
    const generated = (after.usage_by_feature.text_generation ?? 0) - (before.usage_by_feature.text_generation ?? 0);
    assert.equal(generated, credits, "billed under the quick action's feature");
  } finally {
    await page.unroute('**/assistant');
  }
});

test('a quick action estimates below the same text typed, and is charged within its estimate', async () => {
  // Proves the help page's "quick actions are optimized to get answers efficiently with fewer tokens": at the start of a conversation, a quick action's estimate (its own budget) is below the same words typed freely (the assistant's instructions and tools, an open answer), and sending it charges no more than it showed.
  const composer = page.locator('#message');
  await page.getByRole('button', { name: 'New conversation' }).click();
  const text = 'Which rentals are overdue for return, and who has them?';
  await composer.fill(text);
  const typed = await estimateData();
  await composer.fill('');
  await page.getByRole('button', { name: 'Overdue returns' }).click();
  assert.equal(await composer.inputValue(), text, 'the quick action fills the composer with its prompt');
  const quick = await estimateData();
  assert.ok(Number(quick.high) < Number(typed.expected), `quick ${quick.low}–${quick.high} against typed ${typed.low}–${typed.expected}–${typed.high}`);
  assert.match(quick.text, /^up to [0-9.]+k? credits/, 'a quick action shows its budget as a ceiling');
  // Emptied and typed again, the same words are a typed message.
  await composer.fill('');
  await composer.fill(text);
  assert.equal((await estimateData()).expected, typed.expected, 'typing the words again is not the quick action');
  await composer.fill('');
  await page.getByRole('button', { name: 'Overdue returns' }).click();
  const replies = page.locator('.turn.assistant');
  const count = await replies.count();
  await page.getByRole('button', { name: 'Send' }).click();
  await replies.nth(count).locator('.cost').waitFor();
  const credits = number(await replies.nth(count).locator('.cost').textContent());
  assert.ok(credits > 0 && credits <= Number(quick.high), `charged ${credits}, estimated ${quick.high}`);
});

test('Settings › AI Assistant shows the month by feature, by member and day by day', async () => {
  // Proves the usage screen: the monthly bar's values, breakdowns matching the server's, and a stacked daily chart that switches to features.
  const server = await state();
  await page.getByRole('link', { name: 'Settings › AI Assistant' }).click();
  await page.locator('[data-testid=usage-by-member]').waitFor();
  const monthly = page.getByRole('progressbar', { name: 'Monthly credits used' }).first();
  assert.equal(Number(await monthly.getAttribute('aria-valuenow')), server.monthly.used);
  assert.equal(Number(await monthly.getAttribute('aria-valuemax')), server.monthly.allowance);
  for (const [id, map] of [['usage-by-member', server.usage_by_member], ['usage-by-feature', server.usage_by_feature]]) {
    const rows = await page.locator(`[data-testid=${id}] tbody tr`).evaluateAll((trs) => trs.map((tr) => [tr.querySelector('th').textContent, Number(tr.querySelector('td').textContent.replace(/,/g, ''))]));
    const named = rows.filter(([name]) => name !== 'Other');
    assert.ok(named.length >= 3, `${id} has several rows: ${JSON.stringify(rows)}`);
    assert.deepEqual(named.map(([, credits]) => credits).sort((a, b) => a - b), Object.values(map).sort((a, b) => a - b), `${id} agrees with the server`);
  }
  const chart = page.getByRole('img', { name: /Daily credits used this cycle, by model/ });
  // The cycle's older entries are read page by page after the screen shows.
  await chart.locator('rect').nth(9).waitFor();
  assert.ok((await chart.locator('rect').count()) >= 10, 'the chart has bars');
  assert.ok((await page.locator('.legend li').count()) >= 3, 'stacked by several models');
  await shot('03-usage');
  await page.getByRole('button', { name: 'By feature' }).click();
  await page.getByRole('img', { name: /by feature/ }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'By feature' }).getAttribute('aria-pressed'), 'true');
});

test('the 80% banner appears when usage crosses it, and a webhook on loopback gets one signed delivery, none again after a restart', async () => {
  // Proves alerts end to end: the admin registers a webhook; a usage crossing 80% of the month shows the banner (dismissed, it stays dismissed after a reload) and reaches the receiver once, its HMAC-SHA256 signature verified; a server restart delivers nothing again.
  const got = [];
  const receiver = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      got.push({ signature: req.headers['ai-credits-signature'], body });
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  try {
    const hook = await api('POST', `/v1/accounts/${ACCOUNT}/webhooks`, admin, { url: `http://127.0.0.1:${receiver.address().port}/hooks` });
    const { monthly } = await state();
    const eighty = Math.ceil(monthly.allowance * 0.8);
    assert.ok(monthly.used < eighty, `the demo month starts below 80% (${monthly.used} of ${monthly.allowance})`);
    await page.goto(`${base}/#/assistant`);
    assert.equal(await page.locator('[data-alert^="monthly_used:80:"]').count(), 0);
    await api('POST', `/v1/accounts/${ACCOUNT}/events`, service, {
      kind: 'usage', id: 'e2e-past-80', model: 'gpt-5.4-mini', input_tokens: 10_000, output_tokens: 3_000, feature: 'assistant', member: 'cy',
    });
    await api('POST', `/v1/accounts/${ACCOUNT}/events`, service, { kind: 'debit', id: 'e2e-to-80', credits: eighty - monthly.used, feature: 'reports', member: 'ben' });
    const banner = page.locator('[data-alert^="monthly_used:80:"]');
    await banner.waitFor({ timeout: 10_000 });
    assert.match(await banner.textContent(), /You have used 80% of this month's 3,000,000 credits/);
    await shot('04a-alert');
    const ours = () => got.filter((d) => JSON.parse(d.body).alert.id.startsWith('monthly_used:80:'));
    for (let i = 0; i < 100 && ours().length === 0; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(ours().length, 1, 'one delivery of the 80% alert');
    const { signature, body } = ours()[0];
    const [, t, v1] = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(signature) ?? [];
    assert.ok(t, `a signature header: ${signature}`);
    const expected = createHmac('sha256', hook.secret).update(`${t}.${body}`).digest();
    assert.ok(timingSafeEqual(expected, Buffer.from(v1, 'hex')), 'the signature verifies with the secret');
    const delivery = JSON.parse(body);
    assert.equal(delivery.type, 'alert.monthly_used');
    assert.equal(delivery.account, ACCOUNT);
    await banner.getByRole('button', { name: 'Dismiss this alert' }).click();
    assert.equal(await banner.count(), 0);
    await page.reload();
    await page.locator('[data-testid=estimate]').waitFor();
    assert.equal(await page.locator('[data-alert^="monthly_used:80:"]').count(), 0, 'a dismissed alert stays dismissed');
    await stopServer(server);
    server = await startDemoServer();
    await new Promise((r) => setTimeout(r, 2_500));
    assert.equal(ours().length, 1, 'no second delivery after a restart');
    const log = await api('GET', `/v1/accounts/${ACCOUNT}/webhooks/deliveries`, admin);
    assert.ok(log.deliveries.some((d) => d.alert.startsWith('monthly_used:80:') && d.state === 'delivered' && d.attempts === 1));
    await page.locator('[data-testid=sync-status]', { hasText: '● Live' }).waitFor({ timeout: 15_000 });
  } finally {
    receiver.close();
  }
});

test('buying a pack raises purchased credits at once', async () => {
  // Proves Purchase → a confirmation naming the amount and the card on file (the server's payment method) → purchase_pack through the client: the server and the screen show 1M more purchased credits.
  const before = await state();
  await page.getByRole('link', { name: 'Billing & Plan' }).click();
  await page.locator('[data-testid=owned-packs]').waitFor(); // the screen is drawn before rows are counted
  const rows = page.locator('[data-testid=owned-packs] tbody tr');
  const packs = await rows.count();
  await page.getByRole('button', { name: 'Purchase 1M credits for $15.00' }).click();
  await page.getByText('$15.00 for 1M credits, charged to Visa ending in 4242.').waitFor();
  await page.getByRole('button', { name: 'Confirm $15.00' }).click();
  await page.getByText('1M credits added to your account for $15.00.').first().waitFor();
  const after = await state();
  assert.equal(after.purchased_remaining - before.purchased_remaining, 1_000_000);
  await page.waitForFunction(([sel, n]) => document.querySelectorAll(sel).length === n, ['[data-testid=owned-packs] tbody tr', packs + 1]);
  // A receipt line for it: the amount, the pack, and the processor's charge id.
  await page.locator('[data-testid=receipts] tbody tr', { hasText: '$15.00' }).first().waitFor();
  assert.match(await page.locator('[data-testid=receipts] tbody tr').first().textContent(), /1M credits\$15\.00Maya/);
  assert.match(await page.locator('[data-testid=runway]').textContent(), /credits/);
  await shot('04-billing');
  await page.getByRole('link', { name: 'AI Assistant', exact: true }).click();
  await page.locator(`[data-testid=purchased-remaining][data-value="${after.purchased_remaining}"]`).waitFor();
});

test('connecting an xAI key puts Grok in the picker and estimates bill the own key', async () => {
  // Proves Save Keys tests keys together (one connected, one rejected), Grok appears only then, and the estimate says own key.
  await page.goto(`${base}/#/settings/ai/configuration`);
  await page.getByRole('heading', { name: 'AI model' }).waitFor();
  assert.equal(await page.getByLabel('Grok 4', { exact: true }).count(), 0, 'Grok is hidden without a key');
  await page.locator('#key-xai').fill(GOOD_KEY);
  await page.locator('#key-openai').fill('sk-e2e-wrong-key-0000');
  await page.getByRole('button', { name: 'Save Keys' }).click();
  await page.getByText('1 of 2 keys connected.').first().waitFor();
  await page.locator('[data-provider=xai] .badge', { hasText: '● Connected' }).waitFor();
  await page.locator('[data-provider=openai] .badge', { hasText: '● Key rejected' }).waitFor();
  assert.equal(await page.locator('#key-xai').inputValue(), '', 'the pasted key is cleared from the page');
  assert.ok(!(await page.content()).includes(GOOD_KEY), 'the key is nowhere in the page');
  await page.getByLabel('Grok 4', { exact: true }).check();
  await page.getByRole('button', { name: 'Use Grok 4 for everyone' }).click();
  await page.getByText('The assistant now uses Grok 4.').waitFor();
  assert.equal((await state()).selected_model, 'grok-4');
  await page.getByRole('cell', { name: 'Key added' }).first().waitFor();
  await shot('05-keys');
  await page.getByRole('link', { name: 'AI Assistant', exact: true }).click();
  await page.locator('#message').fill('Summarise the news about rentals this week.');
  const est = await estimateData();
  assert.equal(est.billedTo, 'own_key');
  assert.match(est.text, /Billed to your own xAI key · 0 credits/);
});

test('removing the key falls back to the default model', async () => {
  // Proves Remove deletes the key, the selected Grok model falls back to the default, and the audit log says so.
  await page.goto(`${base}/#/settings/ai/configuration`);
  await page.getByRole('button', { name: 'Remove the xAI key' }).click();
  await page.getByText(/The assistant switched back to Claude Sonnet 4\.6/).waitFor();
  assert.equal((await state()).selected_model, 'claude-sonnet-4-6');
  await page.locator('[data-provider=xai] .badge', { hasText: 'Not connected' }).waitFor();
  assert.equal(await page.getByLabel('Grok 4', { exact: true }).count(), 0);
  await page.getByRole('cell', { name: 'Model switched' }).first().waitFor();
  await page.getByRole('cell', { name: 'Key removed' }).first().waitFor();
});

test('when credits run out, sending is blocked, history stays readable, and a pack brings it back', async () => {
  // Proves the exhausted state: a clear message, the composer disabled, earlier turns still shown, and buying a pack re-enables sending.
  await page.getByRole('link', { name: 'AI Assistant', exact: true }).click();
  // Nearly out first: the estimate warns that the worst case is more than what is left.
  const { available } = await state();
  const left = 1_500;
  await api('POST', `/v1/accounts/${ACCOUNT}/events`, service, { kind: 'debit', id: 'e2e-nearly', credits: available - left, feature: 'reports', member: 'ben' });
  await page.locator(`[data-testid=purchased-remaining][data-value="${(await state()).purchased_remaining}"]`).waitFor({ timeout: 10_000 });
  await page.locator('#message').fill('Write a detailed report of every booking this month, grouped by customer and product, with totals.');
  const warned = await estimateData();
  assert.ok(Number(warned.high) > left, `the worst case (${warned.high}) is more than the ${left} left`);
  await page.getByText('In the worst case this message needs more than the 1.5k credits you have left').waitFor();
  await api('POST', `/v1/accounts/${ACCOUNT}/events`, service, { kind: 'debit', id: 'e2e-exhaust', credits: left, feature: 'reports', member: 'ben' });
  const banner = page.locator('[data-testid=exhausted]');
  await banner.waitFor({ timeout: 10_000 });
  assert.match(await banner.textContent(), /used all your AI credits/);
  assert.ok(await page.locator('#message').isDisabled());
  assert.ok(await page.getByRole('button', { name: 'Send' }).isDisabled());
  assert.ok((await page.locator('.turn').count()) >= 2, 'the conversation is still there');
  // Past conversations still open to read.
  await page.getByTestId('conversations').locator('summary').click();
  await page.getByTestId('conversations').locator('button.link', { hasText: /How many bookings today\?/ }).click();
  await page.locator('.turn.user', { hasText: 'How many bookings today?' }).first().waitFor();
  assert.ok(await page.locator('#message').isDisabled(), 'still blocked while reading');
  await shot('06-exhausted');
  await banner.getByRole('link', { name: 'buy a credit pack' }).click();
  await page.getByRole('button', { name: 'Purchase 2M credits for $25.00' }).click();
  await page.getByRole('button', { name: 'Confirm $25.00' }).click();
  await page.getByText('2M credits added').first().waitFor();
  await page.getByRole('link', { name: 'AI Assistant', exact: true }).click();
  await page.locator('#message').fill('Are we back?');
  assert.equal(await banner.count(), 0);
  assert.ok(await page.getByRole('button', { name: 'Send' }).isEnabled());
});

test('with the server gone the badge shows staleness and estimates keep working', async () => {
  // Proves offline use: the badge turns stale with an age, estimates still update from the stored state, sending is disabled.
  await page.evaluate(() => { window.__noReload = true; });
  await stopServer(server);
  const badge = page.locator('[data-testid=sync-status]');
  await badge.filter({ hasText: 'Offline · last synced' }).waitFor({ timeout: 10_000 });
  const composer = page.locator('#message');
  await composer.fill('');
  await composer.pressSequentially('Draft an email to customers about the holiday opening hours.');
  const est = await estimateData();
  assert.ok(Number(est.high) > 0, 'the estimate still works offline');
  assert.ok(await page.getByRole('button', { name: 'Send' }).isDisabled());
  await page.getByText('Offline: estimates still work').waitFor();
  await page.waitForFunction(() => /\d+ s ago/.test(document.querySelector('[data-testid=sync-status]').textContent));
  await shot('07-offline');
});

test('when the server comes back everything catches up without a reload', async () => {
  // Proves recovery: after a restart the badge goes live and an event decided meanwhile shows up, in the same page.
  server = await startDemoServer();
  const usage = await api('POST', `/v1/accounts/${ACCOUNT}/events`, service, {
    kind: 'usage', id: 'e2e-after-restart', model: 'gpt-5.4-mini', input_tokens: 40_000, output_tokens: 8_000, feature: 'assistant', member: 'cy',
  });
  assert.ok(usage.entry.credits > 0);
  const { monthly, purchased_remaining } = await state();
  await page.locator('[data-testid=sync-status]', { hasText: '● Live' }).waitFor({ timeout: 10_000 });
  await page.locator(`[data-testid=monthly-used][data-value="${monthly.used}"]`).waitFor({ timeout: 10_000 });
  await page.locator(`[data-testid=purchased-remaining][data-value="${purchased_remaining}"]`).waitFor({ timeout: 10_000 });
  assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was not reloaded');
  assert.ok(await page.getByRole('button', { name: 'Send' }).isEnabled());
});

test('with the server down a reload opens the app from its offline shell and the stored copy', async () => {
  // Proves the service worker: after the server stops, a reload still opens the app (not the browser's error page), the session needs no network, estimates change as one types on the stored copy, the conversation fetched before still reads, the badge says offline and what needs the server is said; then the server comes back.
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
  await stopServer(server);
  await page.reload();
  const badge = page.locator('[data-testid=sync-status]');
  await badge.filter({ hasText: 'Offline · last synced' }).waitFor({ timeout: 15_000 });
  const composer = page.locator('#message');
  await composer.fill('');
  const seen = [];
  for (const word of ['Which ', 'customers ', 'booked ', 'twice?']) {
    await composer.pressSequentially(word);
    seen.push(Number((await estimateData()).inputTokens));
  }
  for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `estimates follow typing offline: ${seen}`);
  await page.getByText('Offline: estimates still work; sending waits for the server.').waitFor();
  assert.ok(await page.getByRole('button', { name: 'Send' }).isDisabled());
  // The conversation fetched before reads offline, from this browser's copy.
  assert.ok((await page.locator('.turn.assistant .cost').count()) >= 2, 'the conversation reads offline');
  await page.getByTestId('conversations').locator('summary', { hasText: /Your conversations \(\d+\)/ }).waitFor();
  const stored = await page.evaluate(() => ({ token: JSON.parse(sessionStorage.getItem('ai-credits:session')).token, local: JSON.stringify(localStorage) }));
  assert.ok(stored.token && stored.local.length > 1000, 'a session for this tab, and a stored copy');
  assert.ok(!stored.local.includes(stored.token), 'the bearer token is not in localStorage');
  await shot('09-offline-reload');
  server = await startDemoServer();
  await badge.filter({ hasText: '● Live' }).waitFor({ timeout: 15_000 });
});

test('a team member without the admin role sees usage and the model but not keys or purchases', async () => {
  // Proves the app follows the token's role: a member session (handed over in sessionStorage) gets no keys card or audit log, and Purchase is off with a reason.
  const member = (await api('POST', `/v1/accounts/${ACCOUNT}/tokens`, ADMIN, { member: 'ana', role: 'member' })).token;
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  try {
    const other = await context.newPage();
    await other.addInitScript((session) => sessionStorage.setItem('ai-credits:session', session),
      JSON.stringify({ account_id: ACCOUNT, token: member, member: 'ana', role: 'member' }));
    await other.goto(`${base}/#/settings/ai/configuration`);
    await other.getByRole('heading', { name: 'AI model' }).waitFor();
    // The admin chooses the model (SPEC §5.1): the member sees it, and cannot change it.
    await other.getByTestId('model-admin-only').waitFor();
    const radios = other.getByRole('radio');
    assert.ok(await radios.count() > 0);
    for (let i = 0; i < await radios.count(); i += 1) assert.ok(await radios.nth(i).isDisabled());
    const refused = await fetch(`${base}/v1/accounts/${ACCOUNT}/events`, {
      method: 'POST', headers: { authorization: `Bearer ${member}`, 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'select_model', model: 'gpt-5' }),
    });
    assert.equal(refused.status, 403, 'the API refuses a member the model');
    assert.equal((await refused.json()).code, 'forbidden');
    assert.equal(await other.getByRole('heading', { name: 'Use Your Own AI Account' }).count(), 0);
    assert.equal(await other.getByRole('heading', { name: 'Key audit log' }).count(), 0);
    await other.getByRole('link', { name: 'Billing & Plan' }).click();
    await other.getByText('Only an administrator of the account can buy credit packs.').waitFor();
    assert.ok(await other.getByRole('button', { name: 'Purchase 1M credits for $15.00' }).isDisabled());
    assert.match(await other.locator('header .who').textContent(), /Ana · member/);
    // Usage by team member: Ana's own row, everyone else as one.
    await other.goto(`${base}/#/settings/ai`);
    const rows = other.getByTestId('usage-by-member').locator('tbody tr');
    await rows.first().waitFor();
    const names = await rows.locator('th').allTextContents();
    assert.ok(names.every((n) => /^(Ana|Other)$/.test(n.trim())), names.join(', '));
  } finally {
    await context.close();
  }
});

test('keyboard: arrow keys move in the model list without saving, Escape cancels, Enter confirms; Escape cancels a purchase', async () => {
  // Proves the model picker's and the purchase confirmation's keyboard paths: no model is saved by moving, focus stays in the list, Escape puts the choice back, Enter saves it; Escape closes the confirmation without buying and gives focus back to Purchase.
  await page.setViewportSize({ width: 1280, height: 900 });
  await page.goto(`${base}/#/settings/ai/configuration`);
  const current = page.locator('input[name=model]:checked');
  await current.waitFor();
  const selected = (await state()).selected_model;
  await current.focus();
  await page.keyboard.press('ArrowDown');
  const moved = await page.evaluate(() => document.activeElement?.getAttribute('name') === 'model' ? document.activeElement.value : null);
  assert.ok(moved && moved !== selected, `focus moved to another model (${moved})`);
  await page.waitForTimeout(500);
  assert.equal((await state()).selected_model, selected, 'moving saved nothing');
  await page.getByTestId('use-model').filter({ hasText: /^Use .+ for everyone$/ }).waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.locator('input[name=model]:checked').getAttribute('value'), selected, 'Escape puts the choice back');
  await page.locator(`#model-${selected}`).focus();
  await page.keyboard.press('ArrowDown');
  const chosen = await page.evaluate(() => document.activeElement.value);
  await page.keyboard.press('Enter');
  await page.getByText(/The assistant now uses /).waitFor();
  assert.equal((await state()).selected_model, chosen, 'Enter confirms');
  await api('POST', `/v1/accounts/${ACCOUNT}/events`, admin, { kind: 'select_model', model: selected });
  const audit = await api('GET', `/v1/accounts/${ACCOUNT}/audit`, admin);
  assert.ok(audit.entries.some((e) => e.action === 'model_selected' && e.detail?.endsWith(chosen)), 'the change is in the audit log');

  await page.goto(`${base}/#/settings/billing`);
  const before = (await state()).purchased_remaining;
  const purchase = page.getByRole('button', { name: 'Purchase 1M credits for $15.00' });
  await purchase.click();
  await page.getByText('$15.00 for 1M credits, charged to Visa ending in 4242.').waitFor();
  await page.keyboard.press('Escape');
  assert.equal(await page.getByRole('button', { name: 'Confirm $15.00' }).count(), 0, 'Escape closed the confirmation');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Purchase 1M credits for $15.00');
  assert.equal((await state()).purchased_remaining, before, 'nothing was bought');
});

test('every screen has no axe-core violations at desktop and phone width', async () => {
  // Proves accessibility by axe-core (WCAG 2 A/AA rules, colour contrast included) on each screen at 1280 and 390 px, with a phone-width screenshot of each.
  const screens = [['#/assistant', '#message', 'assistant'], ['#/settings/ai', '[data-testid=usage-by-feature]', 'usage'],
    ['#/settings/ai/configuration', '#key-xai', 'configuration'], ['#/settings/billing', '[data-testid=owned-packs]', 'billing'],
    ['#/models', '[data-testid=model-guide]', 'models']];
  const problems = [];
  for (const width of [1280, 390]) {
    await page.setViewportSize({ width, height: width === 390 ? 844 : 900 });
    for (const [hash, only, name] of screens) {
      await page.goto(`${base}/${hash}`);
      await page.locator(only).waitFor();
      await page.addScriptTag({ path: AXE });
      const result = await page.evaluate(() => window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'], resultTypes: ['violations'] }));
      for (const v of result.violations) problems.push(`${hash} at ${width}px: ${v.id} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
      if (width === 390) await shot(`phone-${name}`);
    }
  }
  assert.deepEqual(problems, [], problems.join('\n'));
  await page.setViewportSize({ width: 1280, height: 900 });
});

test('the app works at phone width and every control is named', async () => {
  // Proves the responsive layout (no sideways scrolling at 390 px) and accessible names, progress bars with values, and keyboard focus.
  await page.setViewportSize({ width: 390, height: 844 });
  // Each screen with an element only it has: a hash change keeps the document, so waiting for
  // any heading could measure the screen before.
  const screens = [['#/assistant', '#message'], ['#/settings/ai', '[data-testid=usage-by-feature]'],
    ['#/settings/ai/configuration', '#key-xai'], ['#/settings/billing', '[data-testid=owned-packs]'], ['#/models', '[data-testid=model-guide]']];
  for (const [hash, only] of screens) {
    await page.goto(`${base}/${hash}`);
    await page.locator(only).waitFor();
    const overflow = await page.evaluate(() => document.scrollingElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `${hash} scrolls sideways by ${overflow}px`);
    const unnamed = await page.evaluate(() => [...document.querySelectorAll('button, input, textarea, select, a')]
      .filter((el) => {
        const name = el.getAttribute('aria-label') || el.textContent.trim() || (el.id && document.querySelector(`label[for="${el.id}"]`)?.textContent.trim());
        return !name;
      })
      .map((el) => el.outerHTML.slice(0, 80)));
    assert.deepEqual(unnamed, [], `${hash} has unnamed controls`);
    const bars = await page.evaluate(() => [...document.querySelectorAll('[role=progressbar]')]
      .map((el) => [el.getAttribute('aria-valuenow'), el.getAttribute('aria-valuemax'), el.getAttribute('aria-label')]));
    assert.ok(bars.every(([now, max, label]) => now !== null && max !== null && label), JSON.stringify(bars));
  }
  await page.goto(`${base}/#/assistant`);
  await page.locator('#message').waitFor();
  await shot('08-phone');
  // Keyboard: Tab from the top reaches the composer.
  await page.locator('body').focus();
  let reached = false;
  for (let i = 0; i < 30 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.id === 'message');
  }
  assert.ok(reached, 'Tab reaches the message box');
});
