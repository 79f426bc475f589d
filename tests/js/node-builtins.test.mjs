// Node's ESM entries take node:fs and node:module from process.getBuiltinModule (Node 20.16 and
// later) and import them only where it is missing (Node 18, early 20): both ways must load the
// module and estimate alike. This machine's Node has getBuiltinModule, so a child process
// deletes it before importing the package, as an older Node would lack it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';

const TEXT = 'Résumé of the 日本語 review 🎉';

function run(prelude) {
  const script = `${prelude}
const main = await import('ai-credits');
const tokens = await import('ai-credits/tokens');
console.log(JSON.stringify([typeof process.getBuiltinModule, main.estimateTokens(${JSON.stringify(TEXT)}, 'gpt-5'), tokens.estimateTokenRange(${JSON.stringify(TEXT)}, 'claude-sonnet-4-6')]));`;
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
    cwd: new URL('../../', import.meta.url).pathname,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

test('the ESM entries load with and without process.getBuiltinModule, and estimate alike', () => {
  // Proves both ways to the builtins: without getBuiltinModule (the awaited import) `ai-credits` and `ai-credits/tokens` load and give the same estimates as with it.
  const [withKind, ...withIt] = run('');
  const [withoutKind, ...withoutIt] = run('delete process.getBuiltinModule;');
  assert.equal(withKind, 'function');
  assert.equal(withoutKind, 'undefined');
  assert.deepEqual(withoutIt, withIt);
  assert.ok(withIt[0] > 0);
});
