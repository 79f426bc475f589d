// The package's entry as a frontend meets it (pkg/index.js, the browsers' and bundlers' entry,
// loaded here without Node's automatic init): coded errors of a real class, use before init(),
// use after free(), a catalogue handed to a ledger, typos in events, a TokenCounter as a
// message's text_tokens, and the model ids a counter accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const pkg = new URL('../../pkg/', import.meta.url);
const ac = await import(new URL('index.js', pkg));
const { AiCreditsError, isAiCreditsError, Catalogue, Ledger, TokenCounter } = ac;
const account = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };

/** The error `f` throws (fails when it throws none). */
function thrown(f) {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

test('anything used before init() throws not_initialized, an AiCreditsError', () => {
  // Proves the bare TypeError of the glue is replaced by a coded error for constructors, static methods and functions.
  for (const use of [() => new Ledger(account), () => Catalogue.default(), () => ac.estimateTokens('hi', 'gpt-5'),
    () => new TokenCounter('gpt-5')]) {
    const e = thrown(use);
    assert.ok(e instanceof AiCreditsError && e instanceof Error && isAiCreditsError(e), String(e));
    assert.equal(e.code, 'not_initialized');
    assert.match(e.message, /init\(\)/);
  }
  ac.initSync({ module: readFileSync(new URL('ai_credits_bg.wasm', pkg)) });
  assert.equal(ac.estimateTokens('hello there', 'gpt-5') > 0, true, 'works once loaded');
});

test("the core's refusals are AiCreditsErrors; the guard also knows another copy's", () => {
  // Proves instanceof and isAiCreditsError for a rejection, and the guard's duck test for an error of another copy of the package.
  const ledger = new Ledger(account);
  const e = thrown(() => ledger.apply({ at: 'yesterday', kind: 'usage' }));
  assert.ok(e instanceof AiCreditsError);
  assert.equal(e.name, 'AiCreditsError');
  assert.equal(e.code, 'invalid_event');
  const foreign = Object.assign(new Error('x'), { name: 'AiCreditsError', code: 'offline' });
  assert.equal(isAiCreditsError(foreign), true);
  assert.equal(isAiCreditsError(new Error('x')), false);
  assert.equal(isAiCreditsError(null), false);
  ledger.free();
});

test('free() may be called again, and a freed object throws freed', () => {
  // Proves StrictMode's double cleanup is harmless and use after free is a coded error, for methods, getters and Symbol.dispose.
  const ledger = new Ledger(account);
  ledger.free();
  ledger.free();
  ledger[Symbol.dispose]?.();
  const e = thrown(() => ledger.balance());
  assert.ok(e instanceof AiCreditsError);
  assert.equal(e.code, 'freed');
  const counter = new TokenCounter('gpt-5');
  counter.free();
  assert.equal(thrown(() => counter.tokens).code, 'freed', 'a getter too');
});

test('a catalogue handed to a ledger stays usable, and instanceof holds for what the glue makes', () => {
  // Proves the entry passes a clone (the glue alone would free the caller's catalogue) and that Ledger.fromEvents' result is a Ledger.
  const catalogue = Catalogue.default();
  const ledger = new Ledger(account, catalogue);
  const restored = Ledger.fromEvents(account, [], catalogue);
  assert.ok(catalogue.models().length > 0, 'still usable');
  assert.ok(ledger instanceof Ledger && restored instanceof Ledger);
  catalogue.free();
  assert.ok(ledger.balance('2026-01-02T00:00:00Z').available > 0, "the ledger keeps its own handle");
  assert.equal(thrown(() => new Ledger(account, catalogue)).code, 'freed');
  ledger.free();
  restored.free();
});

test('an event with a field the core does not read is refused, naming it', () => {
  // Proves a camelCase typo is invalid_event (as the server answers) instead of a zero-token usage, and that an event without an entry answers entry: null.
  const ledger = new Ledger(account);
  const e = thrown(() => ledger.apply({ at: '2026-01-02T00:00:00Z', kind: 'usage', id: 'u1', model: 'gpt-5', inputTokens: 5 }));
  assert.equal(e.code, 'invalid_event');
  assert.match(e.message, /inputTokens/);
  assert.equal(ledger.report('2026-01-02T00:00:00Z').entries.length, 0, 'nothing was applied');
  const held = ledger.apply({ at: '2026-01-02T00:00:00Z', kind: 'hold', id: 'h1', credits: 10, expires_at: '2026-01-03T00:00:00Z' });
  assert.deepEqual(held, { duplicate: false, entry: null });
  ledger.free();
});

test('a TokenCounter is a message request text_tokens as it is', () => {
  // Proves estimateMessage reads a counter (its toJSON) exactly as its {tokens, low, high}.
  const ledger = new Ledger(account);
  const counter = new TokenCounter('claude-sonnet-4-6');
  counter.setText('Which rentals are overdue for return, and who has them?');
  const at = '2026-01-02T00:00:00Z';
  const byCounter = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text_tokens: counter }, at);
  const byNumbers = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text_tokens: { tokens: counter.tokens, low: counter.low, high: counter.high } }, at);
  assert.deepEqual(byCounter, byNumbers);
  assert.deepEqual(JSON.parse(JSON.stringify(counter)), { tokens: counter.tokens, low: counter.low, high: counter.high });
  counter.free();
  ledger.free();
});

test("a TokenCounter takes the built-in catalogue's models or a tokenizer's name, nothing else", () => {
  // Proves new TokenCounter('gpt-9') throws unknown_model as documented, and a model of one's own catalogue is counted by its tokenizer's name.
  const e = thrown(() => new TokenCounter('gpt-9'));
  assert.equal(e.code, 'unknown_model');
  assert.match(e.message, /tokenizer/);
  assert.equal(thrown(() => ac.estimateTokens('hi', 'gpt-9')).code, 'unknown_model');
  const byName = new TokenCounter('o200k');
  byName.setText('hello world');
  assert.equal(byName.tokens, ac.estimateTokens('hello world', 'gpt-5'));
  byName.free();
});
