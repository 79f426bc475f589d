// Calibration helper for src/tokens.rs: writes the corpus (bench/corpus.mjs) with o200k_base's
// true counts, as JSON lines, to a scratch file (never committed):
//
//   node bench/tokens-reference.mjs /tmp/tokens-reference.jsonl
//   TOKENS_REFERENCE=/tmp/tokens-reference.jsonl TOKENS_WRITE_MODEL=src/tokens/model.rs \
//     cargo test --release -p ai-credits --lib tokens::calibration -- --ignored --nocapture
//
// Each line is {kind, half, text, tokens, pieces: [[piece, tokens], …]}, half 2 being the
// unseen-* kinds, whose sources calibration never sees. `pieces` are the pre-tokens of o200k's
// split pattern, each with the number of BPE tokens it encodes to (BPE never merges across
// pre-tokens, so they add up to `tokens`). The Rust side fits its per-piece constants on half 0
// and reports the error on the other halves.
import { writeFileSync } from 'node:fs';
import { countTokens as countWithSpecials } from 'gpt-tokenizer/encoding/o200k_base';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { loadCorpus, loadUnseen } from './corpus.mjs';

// User text is ordinary text: `<|endoftext|>` typed in a message is not the special token.
const countTokens = (text) => countWithSpecials(text, { disallowedSpecial: new Set() });

const out = process.argv[2];
if (!out) {
  console.error('usage: node bench/tokens-reference.mjs OUT.jsonl');
  process.exit(2);
}
const lines = [];
// The unseen-* samples (half 2) are only reported, never fitted.
for (const s of [...loadCorpus(), ...loadUnseen().map((u) => ({ ...u, half: 2 }))]) {
  const pieces = [...s.text.matchAll(new RegExp(O200K_TOKEN_SPLIT_REGEX.source, 'gu'))].map((m) => [m[0], countTokens(m[0])]);
  const tokens = countTokens(s.text);
  const sum = pieces.reduce((n, [, t]) => n + t, 0);
  if (sum !== tokens) console.error(`pieces add up to ${sum}, not ${tokens}, in a ${s.kind} sample`);
  lines.push(JSON.stringify({ kind: s.kind, half: s.half, text: s.text, tokens, pieces }));
}
writeFileSync(out, lines.join('\n') + '\n');
console.log(`${lines.length} samples → ${out}`);
