// The WASM half of the replay benchmark: the same year of history that bench/replay.rs wrote,
// replayed by the npm package in Node, then balance and preview queries from JS. Prints the
// native figures beside the WASM ones. Run: `bash bench/run.sh`.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Ledger } from 'ai-credits';

const root = new URL('../', import.meta.url);
const history = JSON.parse(readFileSync(new URL('target/bench/history.json', root), 'utf8'));
const native = JSON.parse(readFileSync(new URL('target/bench/native.json', root), 'utf8'));
const eventsText = JSON.stringify(history.events);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const replayMs = [];
let ledger;
for (let round = 0; round < 5; round++) {
  ledger?.free();
  const t = performance.now();
  ledger = Ledger.fromEvents(history.account, eventsText);
  replayMs.push(performance.now() - t);
}
const now = ledger.now;
const charge = { kind: 'usage', model: 'claude-sonnet-4-6', input_tokens: 1200, output_tokens: 300 };
function perCallUs(fn, n = 20000) {
  for (let i = 0; i < 1000; i++) fn();
  const samples = [];
  for (let batch = 0; batch < 20; batch++) {
    const t = performance.now();
    for (let i = 0; i < n / 20; i++) fn();
    samples.push(((performance.now() - t) * 1000) / (n / 20));
  }
  return median(samples);
}
const previewUs = perCallUs(() => ledger.preview(charge, now));
const balanceUs = perCallUs(() => ledger.balance(now));
// The composer's path: the text's tokens come from a TokenCounter (kept between keystrokes),
// the request carries only their range; the history calibration is cached between calls.
const request = { model: 'claude-sonnet-4-6', text_tokens: { tokens: 120, low: 110, high: 135 }, feature: 'assistant' };
const estimateUs = perCallUs(() => ledger.estimateMessage(request, now));
const message = 'Could you check which of our kayaks are booked for Saturday, and draft a short reply '.repeat(6).slice(0, 500);
const estimateTextUs = perCallUs(() => ledger.estimateMessage({ model: 'claude-sonnet-4-6', text: message, feature: 'assistant' }, now));
const account = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };
const newLedgerUs = perCallUs(() => new Ledger(account).free(), 2000);
const available = ledger.balance(now).available;
if (available !== native.final_available) throw new Error(`WASM and native disagree: ${available} vs ${native.final_available}`);

// Sizes as the README states them: KB of 1,000 bytes, gzipped by `gzip -9` (Node's zlib at level
// 9 writes about 1.3 KB more for the same .wasm; from standard input, so 19 bytes less than
// scripts/build-pkg.sh's figure, whose header names the file), the whole package as a page
// loads it (the README's `cat … | gzip -9 | wc -c`).
const pkg = new URL('pkg/', root);
const gzipped = (bytes) => execFileSync('gzip', ['-9', '-c'], { input: bytes, maxBuffer: 1 << 26 }).length;
const wasm = readFileSync(new URL('ai_credits_bg.wasm', pkg));
const page = Buffer.concat([
  wasm,
  ...['index.js', 'guard.js', 'edit.js', 'ai_credits.js'].map((f) => readFileSync(new URL(f, pkg))),
  ...readdirSync(new URL('snippets/', pkg), { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith('.js'))
    .map((e) => join(e.parentPath, e.name))
    .sort()
    .map((f) => readFileSync(f)),
]);
const fmt = (n, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const rows = [
  ['replay 100,000 events (50 packs), events/s', fmt(native.replay_json_events_per_s), fmt(history.events.length / (median(replayMs) / 1000)), '≥ 1,000,000 native, ≥ 300,000 WASM (from JSON)'],
  ['  the same, events already read (native only)', fmt(native.replay_events_per_s), '—', ''],
  ['preview of a usage on that ledger, µs', fmt(native.preview_us, 2), fmt(previewUs, 2), '≤ 20 µs from JS'],
  ['balance on that ledger, µs', fmt(native.balance_us, 2), fmt(balanceUs, 2), ''],
  ['estimateMessage on that ledger (token range given), µs', '—', fmt(estimateUs, 2), '≤ 10 µs from JS'],
  ['estimateMessage with a 500-character text, µs', '—', fmt(estimateTextUs, 2), ''],
  ['a new Ledger on the built-in catalogue, µs', '—', fmt(newLedgerUs, 2), ''],
  ['package .wasm, KB raw / gzipped', '—', `${fmt(wasm.length / 1000, 1)} / ${fmt(gzipped(wasm) / 1000, 1)}`, ''],
  ['whole package as a page loads it, bytes gzipped', '—', fmt(gzipped(page)), '≤ 150,000'],
];
const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => r[c].length), ['', 'native', 'WASM in Node', 'target'][c].length));
const line = (r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
console.log(line(['', 'native', 'WASM in Node', 'target']));
for (const r of rows) console.log(line(r));
console.log(`\nboth runtimes end with ${fmt(available)} credits available; node ${process.version}, ${new Date().toISOString()}`);
