// The token estimates as a frontend uses them on every keystroke, against the built package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { estimateTokens, estimateTokenRange, TokenCounter } from 'ai-credits';

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

test('an everyday English message is within 15% of its true o200k count', () => {
  // Proves the calibration through the WebAssembly build. The true count, 35, is
  // gpt-tokenizer 4.0.0's `countTokens` from 'gpt-tokenizer/encoding/o200k_base'.
  const message =
    'Can you help me write a polite email to my landlord asking when the heating will be fixed? ' +
    'It has been broken for two weeks and the flat is very cold at night.';
  const truth = 35;
  const estimate = estimateTokens(message, 'gpt-5');
  assert.ok(Math.abs(estimate - truth) <= truth * 0.15, `${estimate} vs ${truth}`);
});

test('the WebAssembly build gives the native build numbers', () => {
  // Proves the integer arithmetic is the same on both: these are pinned in src/tokens.rs too.
  const pinned = [
    ['The quick brown fox jumps over the lazy dog.', 11],
    ['中文很好用，我们今天去公园散步。', 14],
    ['fn main() {\n    println!("{}", 1 + 2);\n}\n', 17],
    ['Привет, мир! 😀 Ünïcödé', 11],
  ];
  for (const [text, tokens] of pinned) assert.equal(estimateTokens(text, 'gpt-5'), tokens, text);
});

test('every model family gets an estimate inside its range', () => {
  // Proves the model-id prefixes map to families and ranges hold the point estimate.
  const text = 'Summarise this thread in three bullet points, then suggest a reply. '.repeat(5);
  for (const model of ['gpt-5', 'claude-sonnet-4-6', 'kimi-k2', 'grok-4', 'gemini-2.5-flash']) {
    const range = estimateTokenRange(text, model);
    assert.deepEqual(Object.keys(range).sort(), ['high', 'low', 'tokens']);
    assert.equal(range.tokens, estimateTokens(text, model));
    assert.ok(range.low <= range.tokens && range.tokens <= range.high, `${model}: ${JSON.stringify(range)}`);
  }
  assert.ok(estimateTokens(text, 'claude-sonnet-4-6') > estimateTokens(text, 'gpt-5'));
  assert.deepEqual(estimateTokenRange('', 'gpt-5'), { tokens: 0, low: 0, high: 0 });
});

test('a TokenCounter fed keystrokes, pastes and deletions equals estimateTokens of the result', () => {
  // Proves the incremental count is exact, with JS (UTF-16) offsets and astral characters.
  const counter = new TokenCounter('claude-sonnet-4-6');
  let text = '';
  const splice = (start, deleteCount, inserted) => {
    const tokens = counter.splice(start, deleteCount, inserted);
    text = text.slice(0, start) + inserted + text.slice(start + deleteCount);
    assert.equal(tokens, counter.tokens);
    assert.equal(counter.length, text.length);
    assert.equal(counter.tokens, estimateTokens(text, 'claude-sonnet-4-6'), JSON.stringify(text));
  };
  for (const c of 'Hello team, please review 🦀 the draft:') splice(text.length, 0, c);
  splice(6, 4, 'everyone');
  splice(text.indexOf('🦀'), 2, '😀😀');
  splice(0, 0, '{"a": [1, 2, 3]}\n\n');
  splice(text.length, 0, '\n中文 and Ελληνικά');
  splice(3, 10, '');
  const range = estimateTokenRange(text, 'claude-sonnet-4-6');
  assert.deepEqual({ tokens: counter.tokens, low: counter.low, high: counter.high }, range);
  counter.setText('short');
  assert.equal(counter.tokens, estimateTokens('short', 'claude-sonnet-4-6'));
  counter.free();
});

test('texts longer than the first encoding buffer are counted whole', () => {
  // Proves the 16 KiB encoding buffer grows: 1,000 copies of a line (about 74 KB of UTF-8)
  // cost ten times what 100 copies (7 KB, inside the first buffer) cost, to the rounding of
  // each estimate, and setText agrees.
  const line = 'Lorem ipsum dolor sit amet, 中文 😀 consectetur adipiscing elit.\n';
  const text = line.repeat(1000);
  const whole = estimateTokens(text, 'gpt-5');
  const hundred = estimateTokens(line.repeat(100), 'gpt-5');
  assert.ok(Math.abs(whole - 10 * hundred) <= 10, `${whole} vs 10 × ${hundred}`);
  const counter = new TokenCounter('gpt-5');
  counter.setText(text);
  assert.equal(counter.length, text.length);
  assert.equal(counter.tokens, whole);
  // A buffer grown past 1 MiB is let go after the call; the next estimate still works.
  const huge = 'word '.repeat(300000);
  assert.ok(Math.abs(estimateTokens(huge, 'gpt-5') - 300000) <= 3000);
  assert.equal(estimateTokens(line.repeat(100), 'gpt-5'), hundred);
});

test('unknown models, bad offsets and non-strings are errors with codes, never traps', () => {
  // Proves every refusal is an AiCreditsError with a stable code and changes nothing.
  assert.equal(codeOf(() => estimateTokens('hi', 'llama-3')), 'unknown_model');
  assert.equal(codeOf(() => estimateTokenRange('hi', 'o3')), 'unknown_model');
  assert.equal(codeOf(() => new TokenCounter('mistral-large')), 'unknown_model');
  // The message names the models it knows, comma-separated.
  assert.throws(() => estimateTokens('hi', 'llama-3'), (e) => /built-in catalogue \(([a-z0-9.-]+, )+[a-z0-9.-]+\)/.test(e.message) && e.message.includes(', gpt-5, '));
  const counter = new TokenCounter('gpt-5');
  counter.setText('a😀b');
  const before = counter.tokens;
  assert.equal(codeOf(() => counter.splice(2, 0, 'x')), 'invalid_argument'); // inside the pair
  assert.equal(codeOf(() => counter.splice(3, 2, '')), 'invalid_argument'); // past the end
  assert.equal(codeOf(() => counter.splice(-1, 0, 'x')), 'invalid_argument');
  assert.equal(codeOf(() => counter.splice(1.5, 0, 'x')), 'invalid_argument');
  assert.equal(codeOf(() => estimateTokens(42, 'gpt-5')), 'invalid_argument');
  assert.equal(codeOf(() => estimateTokens('hi', undefined)), 'invalid_argument');
  assert.equal(counter.tokens, before);
  assert.equal(counter.length, 4);
  // A lone surrogate is text too (it becomes U+FFFD, as TextEncoder makes it).
  assert.ok(estimateTokens('\uD800 lone', 'gpt-5') >= 2);
});
