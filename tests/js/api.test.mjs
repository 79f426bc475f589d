// The package's API as a frontend uses it, against the built package in Node.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import init, { Catalogue, Ledger, runScenario } from 'ai-credits';

const account = { plan: 'growth', cycle_anchor: '2026-01-31T09:00:00Z' };
const usage = (id, at, extra = {}) => ({
  at, kind: 'usage', id, model: 'claude-sonnet-4-6', input_tokens: 1200, output_tokens: 300, ...extra,
});

function codeOf(fn) {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof Error, 'thrown value is an Error');
    assert.equal(e.name, 'AiCreditsError');
    return e.code;
  }
  assert.fail('expected an error');
}

test('init() resolves in Node too, so one import works everywhere', async () => {
  // Proves isomorphic code can always call the browser-style init.
  await init();
  assert.equal(Catalogue.default().defaultModel, 'claude-sonnet-4-6');
});

test('the default catalogue carries the SPEC prices as millicredit rates', () => {
  // Proves models come from the embedded data document with SPEC §2's numbers.
  const cat = Catalogue.default();
  const models = cat.models();
  assert.equal(models.length, 8);
  const sonnet = models.find((m) => m.id === 'claude-sonnet-4-6');
  assert.deepEqual(sonnet.rates, { input: 1800, cached_input: 180, cache_write: 2250, output: 9000 });
  assert.deepEqual(cat.packs().map((p) => [p.id, p.credits, p.price_cents]), [
    ['1M', 1000000, 1500], ['2M', 2000000, 2500], ['5M', 5000000, 4900], ['10M', 10000000, 8900],
  ]);
  assert.equal(cat.platformName, 'EquipDash');
});

test('availableModels follows the key states', () => {
  // Proves own-key-only models appear only with a connected key of their provider.
  const cat = Catalogue.default();
  const ids = (keys) => cat.availableModels(keys).map((m) => m.id);
  assert.deepEqual(ids({}), ['gpt-5.4-mini', 'gpt-5', 'claude-haiku-4-5', 'claude-sonnet-4-6', 'kimi-k2']);
  assert.ok(ids({ xai: 'connected' }).includes('grok-4'));
  assert.ok(!ids({ xai: 'invalid' }).includes('grok-4'));
  assert.ok(!ids({ google: 'none' }).includes('gemini-2.5-flash'));
});

test('the billing message is the SPEC text with the provider and platform names', () => {
  // Proves the word-for-word message of SPEC §3.
  assert.equal(
    Catalogue.default().billingMessage('openai'),
    "Your OpenAI account is out of credits or has a billing issue. Top up your OpenAI account, then try again. (You can switch to EquipDash credits in Settings → AI Assistant if you'd rather not use your own key.)",
  );
  assert.equal(codeOf(() => Catalogue.default().billingMessage('acme')), 'unknown_provider');
});

test('a replaced catalogue is validated, with a code per problem', () => {
  // Proves bad catalogue documents are refused with stable codes.
  const doc = JSON.parse(Catalogue.default().toJson());
  const load = (d) => codeOf(() => Catalogue.fromJson(JSON.stringify(d)));
  assert.equal(load({ ...doc, surprise: 1 }), 'catalogue_unknown_field');
  assert.equal(load({ ...doc, default_model: 'grok-4' }), 'catalogue_default_model_not_on_credits');
  assert.equal(load({ ...doc, models: [...doc.models, doc.models[0]] }), 'catalogue_duplicate_id');
  const negative = structuredClone(doc);
  negative.models[0].rates.output = -1;
  assert.equal(load(negative), 'catalogue_negative_rate');
  assert.equal(codeOf(() => Catalogue.fromJson('{')), 'catalogue_invalid_json');
  const cheaper = structuredClone(doc);
  cheaper.models.find((m) => m.id === 'claude-sonnet-4-6').rates.output = 4500;
  const ledger = new Ledger(account, Catalogue.fromJson(JSON.stringify(cheaper)));
  const outcome = ledger.apply(usage('u1', '2026-02-03T10:00:00Z'));
  assert.equal(outcome.entry.credits, 2160 + 1350);
});

test('apply returns the entry, and a rejection throws with its code and changes nothing', () => {
  // Proves rejections reach JS as Errors with SPEC codes and leave the ledger as it was.
  const ledger = new Ledger(account);
  const outcome = ledger.apply(usage('u1', '2026-02-03T10:00:00Z', { feature: 'assistant' }));
  assert.equal(outcome.duplicate, false);
  assert.equal(outcome.entry.credits, 4860);
  assert.deepEqual(outcome.entry.draws, [{ source: 'monthly', credits: 4860 }]);
  const before = ledger.report('2026-02-04T00:00:00Z');
  assert.equal(codeOf(() => ledger.apply(usage('u2', '2026-02-03T11:00:00Z', { model: 'grok-4' }))), 'model_unavailable');
  assert.equal(codeOf(() => ledger.apply(usage('u1', '2026-02-03T11:00:00Z', { output_tokens: 301 }))), 'idempotency_conflict');
  assert.equal(codeOf(() => ledger.apply(usage('u3', '2026-02-03T11:00:00Z', { input_tokens: 1.5 }))), 'invalid_event');
  assert.equal(codeOf(() => ledger.apply(usage('u4', '2026-02-01T00:00:00Z'))), 'invalid_event');
  assert.deepEqual(ledger.report('2026-02-04T00:00:00Z'), before);
  assert.equal(ledger.apply(usage('u1', '2026-02-03T12:00:00Z', { feature: 'assistant' })).duplicate, true);
});

test('preview shows draws, unpaid and the balance after without changing the ledger', () => {
  // Proves a preview runs the same rules as apply and leaves the ledger untouched.
  const ledger = Ledger.fromEvents(account, [
    { at: '2026-02-01T10:00:00Z', kind: 'purchase_pack', id: 'p1', pack: '1M' },
    { at: '2026-02-01T11:00:00Z', kind: 'debit', id: 'd1', credits: 2999000 },
  ]);
  const preview = ledger.preview({ kind: 'debit', credits: 5000 }, '2026-02-02T00:00:00Z');
  assert.equal(preview.allowed, true);
  assert.deepEqual(preview.draws, [{ source: 'monthly', credits: 1000 }, { source: 'pack', pack: 'p1', credits: 4000 }]);
  assert.equal(preview.available_after, 1000000 + 1000 - 5000);
  const big = ledger.preview({ kind: 'usage', model: 'gpt-5', output_tokens: 100000000 }, '2026-02-02T00:00:00Z');
  assert.equal(big.credits, 600000000);
  assert.equal(big.unpaid, 600000000 - 1001000);
  assert.equal(big.available_after, 0);
  assert.equal(ledger.balance('2026-02-02T00:00:00Z').available, 1001000);
  assert.equal(ledger.entryCount, 1);
  const own = ledger.preview({ kind: 'usage', model: 'grok-4', input_tokens: 10 }, '2026-02-02T00:00:00Z');
  assert.equal(own.allowed, false);
  assert.equal(own.rejection.code, 'model_unavailable');
  assert.equal(codeOf(() => ledger.preview({ kind: 'hold', credits: 5 })), 'invalid_event');
});

test('a snapshot rebuilds the same ledger', () => {
  // Proves snapshot → fromSnapshot is lossless, including the latest time seen.
  const ledger = new Ledger(account);
  ledger.apply({ at: '2026-02-02T10:00:00Z', kind: 'purchase_pack', id: 'p1', pack: '2M' });
  ledger.apply({ at: '2026-02-02T10:01:00Z', kind: 'hold', id: 'h1', credits: 7000, expires_at: '2026-02-02T10:06:00Z', member: 'ana' });
  ledger.apply({ at: '2026-02-02T10:02:00Z', kind: 'connect_key', provider: 'xai' });
  ledger.apply({ at: '2026-02-02T10:03:00Z', kind: 'select_model', model: 'grok-4' });
  const copy = Ledger.fromSnapshot(JSON.stringify(ledger.snapshot()));
  assert.deepEqual(copy.report('2026-02-02T10:04:00Z'), ledger.report('2026-02-02T10:04:00Z'));
  assert.equal(copy.selectedModel, 'grok-4');
  assert.equal(copy.now, '2026-02-02T10:03:00Z');
  assert.deepEqual(copy.keys(), { xai: 'connected' });
  assert.equal(codeOf(() => copy.apply({ at: '2026-02-02T10:05:00Z', kind: 'hold', id: 'h1', credits: 7000, expires_at: '2026-02-02T10:06:00Z' })), 'idempotency_conflict');
});

test('a checkpoint restores the same state through the package, and refuses a damaged one', () => {
  // Proves checkpoint → fromCheckpoint gives the same balance, previews and estimates from JS, a restored ledger's snapshot keeps its state, and a changed document is refused with a code.
  const ledger = new Ledger(account);
  ledger.apply({ at: '2026-02-02T10:00:00Z', kind: 'purchase_pack', id: 'p1', pack: '2M' });
  for (let i = 0; i < 12; i += 1) {
    ledger.apply({ at: `2026-02-02T11:${String(i).padStart(2, '0')}:00Z`, kind: 'usage', id: `u${i}`, model: 'gpt-5',
      input_tokens: 1000 + i, output_tokens: 100 * i, feature: 'assistant', member: 'ana' });
  }
  const at = '2026-02-03T00:00:00Z';
  const checkpoint = ledger.checkpoint();
  assert.equal(checkpoint.format, 'ai-credits/checkpoint');
  assert.equal(checkpoint.catalogue, Catalogue.default().contentHash());
  const restored = Ledger.fromCheckpoint(JSON.stringify(checkpoint));
  assert.deepEqual(restored.balance(at), ledger.balance(at));
  const message = { model: 'gpt-5', text_tokens: { tokens: 300, low: 250, high: 380 }, feature: 'assistant' };
  assert.deepEqual(restored.estimateMessage(message, at), ledger.estimateMessage(message, at));
  assert.deepEqual(restored.forecast(at), ledger.forecast(at));
  const again = Ledger.fromSnapshot(restored.snapshot());
  assert.deepEqual(again.balance(at), ledger.balance(at));
  assert.equal(codeOf(() => Ledger.fromCheckpoint({ ...checkpoint, version: 9 })), 'checkpoint_invalid');
  assert.equal(codeOf(() => Ledger.fromCheckpoint({ ...checkpoint, catalogue: '00' })), 'checkpoint_catalogue_mismatch');
});

test('balance without a time is now, never before the latest event', () => {
  // Proves the default query time follows the clock but never goes back past applied events.
  const ledger = new Ledger({ plan: 'pro', cycle_anchor: '2020-01-01T00:00:00Z' });
  ledger.apply({ at: '2999-01-01T00:00:00Z', kind: 'change_plan', plan: 'growth' });
  const b = ledger.balance();
  assert.equal(b.at, '2999-01-01T00:00:00Z');
  assert.equal(b.monthly.allowance, 3000000);
  assert.equal(codeOf(() => ledger.balance('2998-01-01T00:00:00Z')), 'invalid_event');
});

test('runScenario accepts the object form', () => {
  // Proves the object API gives the same result as the JSON text API for a plain scenario.
  const scenario = { account, events: [usage('u1', '2026-02-03T10:00:00Z')], query_at: '2026-02-04T00:00:00Z' };
  assert.deepEqual(runScenario(scenario), runScenario(JSON.stringify(scenario)));
  assert.equal(runScenario(scenario).monthly.used, 4860);
});
