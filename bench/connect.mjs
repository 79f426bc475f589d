// `Client.connect` in headless Chromium against a real `ai-credits serve`, for the accounts
// `cargo bench -p ai-credits-server --bench history` seeded (target/bench-history/): the time
// and the bytes it transfers, and the size of the offline copy it keeps, printed beside the
// figures of the build before checkpoints (filed with the issue). Run by bench/history.sh.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, launchChromium, startServer, stopServer } from '../tests/js/processes.mjs';

const root = new URL('../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/release/ai-credits');
const seeded = JSON.parse(readFileSync(join(root, 'target/bench-history/accounts.json'), 'utf8'));
const RUNS = 7;

const dir = mkdtempSync(join(tmpdir(), 'ai-credits-connect-'));
const www = join(dir, 'www');
cpSync(join(root, 'pkg'), join(www, 'pkg'), { recursive: true });
writeFileSync(join(www, 'index.html'), `<!doctype html><meta charset="utf-8"><title>connect</title>
<script type="module">import init, * as ac from '/pkg/index.js'; await init(); window.ac = ac; window.ready = true;</script>`);
const port = await freePort();
const server = await startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', seeded.db, '--www', www], {});
const browser = await launchChromium();
try {
  /** A page of its own (an empty browser cache and storage), counting the API's bytes on the wire. */
  const freshPage = async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const counter = { bytes: 0 };
    page.on('requestfinished', async (request) => {
      if (!request.url().includes('/v1/')) return;
      const sizes = await request.sizes();
      counter.bytes += sizes.responseHeadersSize + sizes.responseBodySize;
    });
    await page.goto(`http://127.0.0.1:${port}/`);
    await page.waitForFunction(() => window.ready === true);
    return { context, page, counter };
  };
  const connect = (page, account) => page.evaluate(async ({ id, token }) => {
    const t0 = performance.now();
    const client = await window.ac.Client.connect({ base_url: '', account_id: id, token });
    const ms = performance.now() - t0;
    const copy = Object.keys(localStorage).reduce((n, k) => n + localStorage.getItem(k).length, 0);
    const ok = client.balance().available >= 0 && client.status.storage_error === null;
    client.free();
    return { ms, copy, ok };
  }, account);
  console.log(`Client.connect in Chromium (${RUNS} runs each, median; first connect of a new browser profile, then a reload's)`);
  console.log(`${'events'.padStart(9)}  ${'connect'.padStart(10)}  ${'transferred'.padStart(12)}  ${'offline copy'.padStart(13)}  ${'reload: connect, transferred'.padStart(30)}`);
  for (const account of seeded.accounts) {
    const runs = [];
    const again = [];
    for (let i = 0; i < RUNS; i += 1) {
      const { context, page, counter } = await freshPage();
      const first = await connect(page, account);
      await page.waitForTimeout(50); // the last requestfinished event
      runs.push({ ...first, bytes: counter.bytes });
      counter.bytes = 0;
      const second = await connect(page, account);
      await page.waitForTimeout(50);
      again.push({ ...second, bytes: counter.bytes });
      await context.close();
    }
    const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    if (![...runs, ...again].every((r) => r.ok)) throw new Error(`connect to ${account.id} did not give a usable copy`);
    console.log(`${String(account.events).padStart(9)}  ${median(runs.map((r) => r.ms)).toFixed(1).padStart(7)} ms  `
      + `${(median(runs.map((r) => r.bytes)) / 1024).toFixed(1).padStart(9)} KB  `
      + `${(median(runs.map((r) => r.copy)) / 1024).toFixed(1).padStart(8)} K ch  `
      + `${median(again.map((r) => r.ms)).toFixed(1).padStart(14)} ms ${(median(again.map((r) => r.bytes)) / 1024).toFixed(1).padStart(8)} KB`);
  }
  console.log(`${'1000'.padStart(9)}  ${'250'.padStart(7)} ms  ${'486'.padStart(9)} KB  ${'203'.padStart(8)} K ch   (before checkpoints, from the issue)`);
  console.log(`${'150000'.padStart(9)}  ${'9300'.padStart(7)} ms  ${'75776'.padStart(9)} KB  ${'30700'.padStart(8)} K ch   (before: QuotaExceededError, dropped)`);
} finally {
  await browser.close();
  await stopServer(server);
  rmSync(dir, { recursive: true, force: true });
}
