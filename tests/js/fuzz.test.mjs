// Random bytes and random JSON into every entry point of the package: each call returns or
// throws an AiCreditsError with a code; the module never traps (a Rust panic would surface as
// a WebAssembly.RuntimeError and poison the instance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Catalogue, Ledger, TokenCounter, estimateTokens, estimateTokenRange, runScenario, runScenarioJson } from 'ai-credits';

let seed = Number(process.env.FUZZ_SEED ?? 20261121);
function rand() {
  // xorshift32: deterministic, so a failure can be replayed with FUZZ_SEED.
  seed ^= seed << 13; seed >>>= 0;
  seed ^= seed >>> 17;
  seed ^= seed << 5; seed >>>= 0;
  return seed / 2 ** 32;
}
const pick = (list) => list[Math.floor(rand() * list.length)];
const keys = ['at', 'kind', 'id', 'model', 'credits', 'input_tokens', 'output_tokens', 'cached_input_tokens',
  'cache_write_tokens', 'hold', 'expires_at', 'pack', 'plan', 'provider', 'feature', 'member', 'account',
  'events', 'query_at', 'cycle_anchor', 'format', 'version', 'now'];
const kinds = ['usage', 'debit', 'hold', 'commit', 'release', 'purchase_pack', 'connect_key', 'key_invalid',
  'remove_key', 'select_model', 'change_plan', 'teleport'];
function value(depth = 0) {
  switch (Math.floor(rand() * (depth > 3 ? 7 : 9))) {
    case 0: return null;
    case 1: return rand() < 0.5;
    case 2: return pick([0, 1, -1, 1.5, 1e3, 2 ** 53, 1e21, -0, 100000001, 1e12, 1e12 + 1]);
    case 3: return pick(['', 'x', '2026-02-03T10:00:00Z', '2026-02-30T00:00:00Z', 'growth', 'gpt-5', '1M', 'xai', '💥'.repeat(300)]);
    case 4: return pick(kinds);
    case 5: return Math.floor(rand() * 1e6);
    case 6: return new Date(Date.UTC(2026, 0, 1) + rand() * 4e10).toISOString();
    case 7: return Array.from({ length: Math.floor(rand() * 4) }, () => value(depth + 1));
    default: return Object.fromEntries(Array.from({ length: Math.floor(rand() * 8) }, () => [pick(keys), value(depth + 1)]));
  }
}
function randomBytes() {
  return String.fromCharCode(...Array.from({ length: Math.floor(rand() * 64) }, () => Math.floor(rand() * 256)));
}

function survives(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(!(e instanceof WebAssembly.RuntimeError), `trap: ${e.stack}`);
    assert.ok(e instanceof Error, `non-Error thrown: ${String(e)}`);
    assert.equal(typeof e.code, 'string', `no code on: ${e.message}`);
  }
}

test('random JSON and random bytes never trap any entry point', () => {
  // Proves every JS entry point answers malformed input with a coded Error, never a panic.
  const account = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };
  for (let i = 0; i < 3000; i++) {
    const v = value();
    const text = rand() < 0.5 ? JSON.stringify(v) : randomBytes();
    const ledger = new Ledger(account);
    survives(() => runScenario(v));
    survives(() => runScenario(text));
    survives(() => runScenarioJson(text));
    survives(() => Catalogue.fromJson(text));
    survives(() => Catalogue.default().availableModels(v));
    survives(() => new Ledger(v));
    survives(() => Ledger.fromEvents(account, v));
    survives(() => Ledger.fromSnapshot(v));
    survives(() => ledger.apply(v));
    survives(() => ledger.apply({ ...(typeof v === 'object' && v ? v : {}), at: '2026-02-01T00:00:00Z', kind: pick(kinds), id: 'x' }));
    survives(() => ledger.preview(v));
    survives(() => ledger.balance(typeof v === 'string' ? v : undefined));
    survives(() => ledger.estimateMessage(v));
    survives(() => ledger.estimateMessage({ model: pick(['gpt-5', 'grok-4', 'nope']), text: text, history_tokens: v, feature: pick(['agents', 'assistant']) }));
    survives(() => ledger.estimateQuickAction(String(v), pick(['kimi-k2', undefined, 'x'])));
    survives(() => ledger.forecast(typeof v === 'string' ? v : undefined, typeof v === 'number' ? v : undefined));
    survives(() => estimateTokens(text, pick(['gpt-5', 'claude-haiku-4-5', 'nope', v])));
    survives(() => estimateTokenRange(text, 'kimi-k2'));
    survives(() => {
      const counter = new TokenCounter(pick(['gpt-5', 'gemini-2.5-flash']));
      counter.setText(text);
      counter.splice(typeof v === 'number' ? v : rand() * 80, rand() * 10, randomBytes());
      counter.free();
    });
  }
  // The instance still works after all of that.
  assert.equal(runScenario({ account, query_at: '2026-01-02T00:00:00Z' }).available, 3000000);
});
