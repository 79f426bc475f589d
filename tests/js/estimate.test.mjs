// Message estimates, quick actions and forecasts through the npm package (the same numbers as
// the native tests in tests/estimate.rs and tests/forecasts/).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { Catalogue, Ledger } from 'ai-credits';

const account = { plan: 'growth', cycle_anchor: '2026-01-01T00:00:00Z' };

test('estimateMessage gives the hand-checked range from a token estimate', () => {
  // Proves the WASM estimate equals the native one: 1,692 / 4,500 / 14,877 credits on Sonnet (the text and the assistant's 650 instruction tokens).
  const ledger = new Ledger(account);
  const e = ledger.estimateMessage({ model: 'claude-sonnet-4-6', text_tokens: { tokens: 100, low: 90, high: 115 }, feature: 'assistant' }, '2026-01-02T00:00:00Z');
  assert.deepEqual(e.credits, { low: 1692, expected: 4500, high: 14877 });
  assert.equal(e.billed_to, 'credits');
  assert.equal(e.available_after_expected, 3000000 - 4500);
  assert.equal(e.calibration.source, 'catalogue');
  assert.deepEqual(e.draws_expected, [{ source: 'monthly', credits: 4500 }]);
});

test('estimateMessage from text counts the text on the model\'s tokenizer', () => {
  // Proves longer text costs more, an agent feature costs more than a one-shot question, and a task's text (the seeds' example) reads as a task and costs more than the question.
  const ledger = new Ledger(account);
  const at = '2026-01-02T00:00:00Z';
  const short = ledger.estimateMessage({ model: 'gpt-5', text: 'How many bookings today?' }, at);
  const long = ledger.estimateMessage({ model: 'gpt-5', text: 'How many bookings today? '.repeat(40) }, at);
  assert.ok(short.input_tokens.expected > 0);
  assert.ok(long.input_tokens.expected > 10 * short.input_tokens.expected);
  const agent = ledger.estimateMessage({ model: 'gpt-5', text: 'How many bookings today?', feature: 'agents' }, at);
  const oneShot = ledger.estimateMessage({ model: 'gpt-5', text: 'How many bookings today?', feature: 'assistant' }, at);
  assert.ok(agent.agent && !oneShot.agent && !oneShot.task);
  assert.ok(agent.credits.expected > 2 * oneShot.credits.expected);
  const task = ledger.estimateMessage({ model: 'gpt-5', text: 'Create a booking for three products over five days', feature: 'assistant' }, at);
  assert.ok(task.task && !task.agent);
  assert.ok(task.credits.expected > oneShot.credits.expected && task.credits.high > 2 * oneShot.credits.high);
});

test('estimates follow own keys and the gate', () => {
  // Proves own-key models estimate 0 credits with their would-be cost, and unavailable ones refuse.
  const ledger = new Ledger(account);
  ledger.apply({ at: '2026-01-01T01:00:00Z', kind: 'connect_key', provider: 'xai' });
  const grok = ledger.estimateMessage({ model: 'grok-4', text: 'Hello' });
  assert.equal(grok.billed_to, 'own_key');
  assert.deepEqual(grok.credits, { low: 0, expected: 0, high: 0 });
  assert.ok(grok.would_be_credits.expected > 0);
  const gemini = ledger.estimateMessage({ model: 'gemini-2.5-flash', text: 'Hello' });
  assert.equal(gemini.allowed, false);
  assert.equal(gemini.rejection.code, 'model_unavailable');
  assert.throws(() => ledger.estimateMessage({ model: 'nope', text: 'x' }), (e) => e.code === 'unknown_model');
  assert.throws(() => ledger.estimateMessage({ model: 'gpt-5', txt: 'x' }), (e) => e.code === 'invalid_argument');
});

test('quick actions are in the catalogue and priced before use', () => {
  // Proves the quick action cost: 450 in, 100 out on Sonnet = 1,710 credits.
  const actions = Catalogue.default().quickActions();
  assert.ok(actions.length >= 3);
  const ledger = new Ledger(account);
  const e = ledger.estimateQuickAction('bookings-today', undefined, '2026-01-02T00:00:00Z');
  assert.deepEqual(e.credits, { low: 1710, expected: 1710, high: 1710 });
  assert.throws(() => ledger.estimateQuickAction('nope'), (e) => e.code === 'unknown_quick_action');
});

test('every forecast case gives its hand-checked numbers and alerts in WASM too', () => {
  // Proves forecast() and alerts() through the package match tests/forecasts/ (burn, runway, breakage; the alerts where a case lists them).
  const dir = new URL('../forecasts/', import.meta.url);
  const subset = (actual, expected, path) => {
    if (expected !== null && typeof expected === 'object') {
      if (Array.isArray(expected)) assert.equal(actual.length, expected.length, path);
      for (const [k, v] of Object.entries(expected)) subset(actual[k], v, `${path}.${k}`);
    } else {
      assert.equal(actual, expected, path);
    }
  };
  const files = readdirSync(dir).filter((f) => f.endsWith('.json'));
  assert.ok(files.length >= 3);
  for (const file of files) {
    const c = JSON.parse(readFileSync(new URL(file, dir), 'utf8'));
    const ledger = Ledger.fromEvents(c.account, c.events);
    subset(ledger.forecast(c.at, c.window_days), c.expected, file);
    if (c.expected_alerts) subset(ledger.alerts(c.at), c.expected_alerts, `${file} alerts`);
  }
  assert.ok(files.filter((f) => f.startsWith('alerts-')).length >= 5, 'the alert cases are read');
});
