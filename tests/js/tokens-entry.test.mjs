// `ai-credits/tokens`, the estimator alone in a WebAssembly module of its own: loaded here
// from its browser entry (pkg/tokens.js) without Node's automatic init, it refuses use before
// init(), then counts exactly as the whole package does, with the same error class.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

const pkg = new URL('../../pkg/', import.meta.url);
const tokens = await import(new URL('tokens.js', pkg));
// The whole module, from the browsers' entry: Node's main entry estimates with the estimator's
// module itself (src/wasm/js/node.js), so it cannot stand for the whole one here.
const whole = await import(new URL('index.js', pkg));
whole.initSync({ module: readFileSync(new URL('ai_credits_bg.wasm', pkg)) });

const texts = [
  'How many bookings today?',
  'Create a booking for three products over five days, starting Monday.',
  '数据库里今天有多少个预订？',
  'Переведи это письмо клиенту, пожалуйста.',
  '{"order": 1042, "items": [{"sku": "TENT-4", "qty": 2}]}',
  'fn main() {\n    println!("{}", 6 * 7);\n}\n',
  '😀 emoji, accents: café naïve — and symbols ++ -- => !!',
  '',
];

test('before init() the estimator entry throws not_initialized', () => {
  // Proves the estimator's entry guards its functions and its counter like the main entry.
  for (const use of [() => tokens.estimateTokens('hi', 'gpt-5'), () => new tokens.TokenCounter('gpt-5')]) {
    assert.throws(use, (e) => e instanceof tokens.AiCreditsError && e.code === 'not_initialized');
  }
  tokens.initSync({ module: readFileSync(new URL('ai_credits_tokens_bg.wasm', pkg)) });
});

test('it counts exactly what the whole package counts, on every tokenizer and by splices', () => {
  // Proves the estimator-only module is the same estimator: estimateTokens, estimateTokenRange and a TokenCounter fed edit by edit agree with the whole package for each model family.
  for (const model of ['gpt-5', 'claude-sonnet-4-6', 'kimi-k2', 'grok-4', 'gemini-2.5-flash', 'o200k']) {
    for (const text of texts) {
      assert.equal(tokens.estimateTokens(text, model), whole.estimateTokens(text, model), `${model}: ${text}`);
      assert.deepEqual(tokens.estimateTokenRange(text, model), whole.estimateTokenRange(text, model));
    }
    const counter = new tokens.TokenCounter(model);
    let typed = '';
    for (const ch of texts.join(' ')) {
      counter.splice(typed.length, 0, ch);
      typed += ch;
    }
    assert.equal(counter.tokens, whole.estimateTokens(typed, model));
    counter.free();
  }
});

test('its errors are the same class as the whole package', () => {
  // Proves one AiCreditsError class serves both modules (one copy of errors.js), so instanceof and the codes hold across entries.
  assert.equal(tokens.AiCreditsError, whole.AiCreditsError);
  assert.throws(() => new tokens.TokenCounter('gpt-9'), (e) => e instanceof whole.AiCreditsError && e.code === 'unknown_model');
  const counter = new tokens.TokenCounter('gpt-5');
  counter.free();
  counter.free();
  assert.throws(() => counter.tokens, (e) => whole.isAiCreditsError(e) && e.code === 'freed');
});
