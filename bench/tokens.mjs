// Token estimation benchmark: the package's estimator (src/tokens.rs, through WebAssembly)
// against gpt-tokenizer's exact o200k_base count, and against chars/4 and UTF-8 bytes/4, on the
// corpus of bench/corpus.mjs (text this project did not write, read from this machine).
//
//   node bench/tokens.mjs [PACKAGE_DIR]        (or AI_CREDITS_PKG=DIR; default pkg/)
//
// Prints the relative error by kind (all samples, and the held-out half the calibration never
// saw), how often the true count falls in [low, high], per-call times on a 500-character
// message, throughput, cold start in a fresh `node`, and download sizes; then each target.
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { countTokens as countWithSpecials } from 'gpt-tokenizer/encoding/o200k_base';
import { KINDS, UNSEEN_KINDS, loadCorpus, loadUnseen } from './corpus.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const pkgDir = resolve(process.argv[2] ?? process.env.AI_CREDITS_PKG ?? join(root, 'pkg'));
if (!existsSync(join(pkgDir, 'node.js'))) {
  console.error(`no built package in ${pkgDir} (run scripts/build-pkg.sh, or pass a package directory)`);
  process.exit(2);
}
const pkgEntry = pathToFileURL(join(pkgDir, 'node.js')).href;
const { estimateTokens, estimateTokenRange, TokenCounter } = await import(pkgEntry);
const MODEL = 'gpt-5'; // an o200k model
// User text is ordinary text: `<|endoftext|>` typed in a message is not the special token (and
// gpt-tokenizer would throw on it by default). Used for the accuracy and the speed figures.
const countTokens = (text) => countWithSpecials(text, { disallowedSpecial: new Set() });

const utf8 = (s) => Buffer.byteLength(s, 'utf8');
const pct = (x) => `${(x * 100).toFixed(1)}%`;
function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.round((sorted.length - 1) * q)];
}

// ---- accuracy --------------------------------------------------------------------------------

const corpus = loadCorpus();
const unseen = loadUnseen();
const rows = [...corpus, ...unseen].map((s) => {
  const truth = countTokens(s.text);
  const range = estimateTokenRange(s.text, MODEL);
  return {
    ...s,
    truth,
    est: range.tokens,
    inRange: range.low <= truth && truth <= range.high,
    chars: Math.round(s.text.length / 4),
    bytes: Math.round(utf8(s.text) / 4),
  };
});

function stats(list) {
  const err = (f) => list.map((r) => Math.abs(f(r) - r.truth) / r.truth);
  const [e, c, b] = [err((r) => r.est), err((r) => r.chars), err((r) => r.bytes)];
  return {
    n: list.length,
    est: [quantile(e, 0.5), quantile(e, 0.9)],
    chars: [quantile(c, 0.5), quantile(c, 0.9)],
    bytes: [quantile(b, 0.5), quantile(b, 0.9)],
    coverage: list.filter((r) => r.inRange).length / list.length,
  };
}

function accuracyTable(title, pick) {
  console.log(`\n${title}`);
  console.log('kind                 n   estimateTokens    chars/4         bytes/4       true in');
  console.log('                         median   p90    median   p90    median   p90    [low,high]');
  const lines = [];
  for (const kind of ['ALL', ...KINDS, ...UNSEEN_KINDS]) {
    const list = rows.filter((r) => pick(r) && (kind === 'ALL' ? KINDS.includes(r.kind) : r.kind === kind));
    if (!list.length) continue;
    const s = stats(list);
    lines.push({ kind, ...s });
    const cell = ([m, p]) => `${pct(m).padStart(6)} ${pct(p).padStart(6)}`;
    console.log(
      `${kind.padEnd(17)} ${String(s.n).padStart(5)}  ${cell(s.est)}   ${cell(s.chars)}   ${cell(s.bytes)}   ${pct(s.coverage).padStart(6)}`,
    );
  }
  return lines;
}

console.log(`package: ${pkgDir}`);
console.log(`corpus: ${corpus.length} samples of ${KINDS.length} kinds (100–2000 chars each); ALL excludes the unseen-* kinds,`);
console.log('whose sources the calibration never saw. Errors are |estimate − true| / true against o200k_base.');
const all = accuracyTable('All samples', () => true);
const heldOut = accuracyTable('Held-out half only (never used for calibration)', (r) => r.half === 1 || r.kind.startsWith('unseen'));

// ---- speed -----------------------------------------------------------------------------------

/** Runs `fn` for `ms` milliseconds: V8 first runs code from a baseline compiler and swaps in
 * optimised code only after a while (for the estimator's large WebAssembly function, some
 * tens of milliseconds), so every figure here is taken warm, for both sides alike. */
function warmUp(fn, ms = 400) {
  const end = performance.now() + ms;
  let i = 0;
  while (performance.now() < end) for (let j = 0; j < 64; j++) fn(i++);
}

/** Median time per call in µs: `batches` batches of `perBatch` calls, after a warm-up. */
function timePerCall(fn, perBatch, batches = 25) {
  warmUp(fn);
  const times = [];
  for (let b = 0; b < batches; b++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < perBatch; i++) fn(i);
    times.push(Number(process.hrtime.bigint() - t0) / 1000 / perBatch);
  }
  return quantile(times, 0.5);
}

// A real 500-character English message from the corpus, cut at a word.
const source = corpus.find((s) => s.kind === 'prose' && s.text.length > 600 && /^[\x20-\x7e\n]*$/.test(s.text)).text;
const message = source.slice(0, source.lastIndexOf(' ', 500) + 1).padEnd(500, 'x');
let sink = 0;
const estimateUs = timePerCall(() => (sink += estimateTokens(message, MODEL)), 2000);
const counter = new TokenCounter(MODEL);
counter.setText(message);
// One keystroke: type a letter at the end, then (next call) delete it, so the text stays 500.
const keystrokeUs = timePerCall(
  (i) => (sink += i % 2 === 0 ? counter.splice(counter.length, 0, 'e') : counter.splice(counter.length - 1, 1, '')),
  20000,
);
// A keystroke in the middle of a word, for comparison.
const middle = message.indexOf(' ', 250) - 2;
const keystrokeMiddleUs = timePerCall(
  (i) => (sink += i % 2 === 0 ? counter.splice(middle, 0, 'e') : counter.splice(middle, 1, '')),
  20000,
);
const countUs = timePerCall(() => (sink += countTokens(message)), 200);

// Throughput over the corpus: five passes of each, interleaved (the machine may be shared),
// after warming both up; the median pass of each.
const texts = corpus.map((s) => s.text);
const corpusBytes = texts.reduce((n, t) => n + utf8(t), 0);
const ours = (t) => estimateTokens(t, MODEL);
const theirs = (t) => countTokens(t);
function pass(fn) {
  const t0 = process.hrtime.bigint();
  for (const t of texts) sink += fn(t);
  return corpusBytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9);
}
for (const fn of [ours, theirs]) {
  const end = performance.now() + 1500;
  while (performance.now() < end) pass(fn);
}
const passes = { ours: [], theirs: [] };
for (let i = 0; i < 5; i++) {
  passes.ours.push(pass(ours));
  passes.theirs.push(pass(theirs));
}
const estimateMBs = quantile(passes.ours, 0.5);
const countMBs = quantile(passes.theirs, 0.5);

// Cold start: a fresh `node` that imports and estimates once, for each script in turns (the
// machine may be shared), the median of 7 runs of each. Node's main entry estimates with the
// estimator's own module and compiles the whole one when first needed (src/wasm/js/node.js), so
// what that first need costs (a Ledger) is measured beside it; and an empty import, which is
// Node's own share of every cold start here.
const emptyModule = join(tmpdir(), 'ai-credits-bench-empty.mjs');
writeFileSync(emptyModule, 'export default 1;\n');
const tokensEntry = pathToFileURL(join(pkgDir, 'tokens-node.js')).href;
const importAndCall = (entry, call) =>
  `const t0 = performance.now(); const m = await import(${JSON.stringify(entry)}); ${call}; console.log(performance.now() - t0);`;
const coldScripts = {
  ours: importAndCall(pkgEntry, "m.estimateTokens('Hello, how are you?', 'gpt-5')"),
  tokensEntry: importAndCall(tokensEntry, "m.estimateTokens('Hello, how are you?', 'gpt-5')"),
  ledger: importAndCall(pkgEntry, "m.estimateTokens('Hello, how are you?', 'gpt-5'); new m.Ledger({ plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' }).free()"),
  theirs: importAndCall('gpt-tokenizer/encoding/o200k_base', "m.countTokens('Hello, how are you?')"),
  empty: importAndCall(pathToFileURL(emptyModule).href, 'm.default'),
};
const coldRuns = Object.fromEntries(Object.keys(coldScripts).map((k) => [k, []]));
for (let i = 0; i < 7; i++) {
  for (const [name, script] of Object.entries(coldScripts)) {
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' });
    coldRuns[name].push(Number(out.trim()));
  }
}
const cold = Object.fromEntries(Object.entries(coldRuns).map(([k, runs]) => [k, quantile(runs, 0.5)]));
const coldOurs = cold.ours;
const coldTheirs = cold.theirs;

// Download sizes.
const require = createRequire(import.meta.url);
const gptDir = dirname(require.resolve('gpt-tokenizer/package.json'));
const ranksFile = join(gptDir, 'esm/bpeRanks/o200k_base.js');
// `gzip -9` of the bytes, as bench/replay.mjs and the README's sizes (Node's zlib at level 9 writes
// about 1.3 KB more for the .wasm).
const gz = (path) => execFileSync('gzip', ['-9', '-c'], { input: readFileSync(path), maxBuffer: 1 << 26 }).length;
const wasmFile = join(pkgDir, 'ai_credits_bg.wasm');
const kb = (n) => `${(n / 1000).toFixed(1)} KB`;

console.log('\nSpeed (Node ' + process.version + ', this machine)');
console.log(`                                   ai-credits       gpt-tokenizer countTokens`);
console.log(`per call, 500-char message      ${estimateUs.toFixed(2).padStart(8)} µs   ${countUs.toFixed(2).padStart(8)} µs (warm)`);
console.log(`per keystroke (splice, at end)  ${keystrokeUs.toFixed(2).padStart(8)} µs`);
console.log(`per keystroke (mid-word)        ${keystrokeMiddleUs.toFixed(2).padStart(8)} µs`);
console.log(`throughput over the corpus      ${estimateMBs.toFixed(1).padStart(8)} MB/s ${countMBs.toFixed(1).padStart(8)} MB/s`);
console.log(`cold start (import + 1st call)  ${coldOurs.toFixed(1).padStart(8)} ms   ${coldTheirs.toFixed(1).padStart(8)} ms`);
console.log(`  ai-credits/tokens              ${cold.tokensEntry.toFixed(1).padStart(8)} ms`);
console.log(`  then a first Ledger            ${cold.ledger.toFixed(1).padStart(8)} ms   (import + estimate + Ledger: the whole module compiled)`);
console.log(`  an empty import                ${cold.empty.toFixed(1).padStart(8)} ms   (Node's own share of each)`);
console.log(
  `download, gzip -9                ${kb(gz(wasmFile)).padStart(8)}      ${kb(gz(ranksFile)).padStart(8)}` +
    `  (whole package .wasm / bpeRanks/o200k_base.js)`,
);

// ---- targets ---------------------------------------------------------------------------------

const allHeld = heldOut.find((l) => l.kind === 'ALL');
const beatsBaselines = (lines) =>
  lines.filter((l) => KINDS.includes(l.kind)).every((l) => l.est[0] < l.chars[0] && l.est[0] < l.bytes[0] && l.est[1] < l.chars[1] && l.est[1] < l.bytes[1]);
const targets = [
  ['median error ≤ 5% overall (held out)', allHeld.est[0] <= 0.05, pct(allHeld.est[0])],
  ['p90 error ≤ 12% overall (held out)', allHeld.est[1] <= 0.12, pct(allHeld.est[1])],
  ['better than chars/4 and bytes/4 in every kind (median and p90, held out)', beatsBaselines(heldOut), ''],
  ['throughput ≥ 10× gpt-tokenizer', estimateMBs >= 10 * countMBs, `${(estimateMBs / countMBs).toFixed(1)}×`],
  ['keystroke ≥ 10× faster than countTokens on 500 chars', keystrokeUs * 10 <= countUs, `${(countUs / keystrokeUs).toFixed(0)}×`],
  ['keystroke ≤ 0.9 µs', keystrokeUs <= 0.9, `${keystrokeUs.toFixed(2)} µs`],
  ['cold start ≤ 15 ms', coldOurs <= 15, `${coldOurs.toFixed(1)} ms`],
];
console.log('\nTargets');
for (const [name, ok, value] of targets) console.log(`${ok ? 'met    ' : 'NOT MET'}  ${name}${value ? `: ${value}` : ''}`);
if (sink === 0.5) console.log(); // keeps the timed calls observable
