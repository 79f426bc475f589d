// Every conformance scenario through the npm package in Node, compared byte for byte with the
// native runner's output (AI_CREDITS_BIN, default target/debug/ai-credits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { runScenario, runScenarioJson } from 'ai-credits';

const root = new URL('../../', import.meta.url);
const dir = new URL('tests/scenarios/', root);
const bin = process.env.AI_CREDITS_BIN ?? new URL('target/debug/ai-credits', root).pathname;
const names = readdirSync(dir)
  .filter((n) => n.endsWith('.json') && !n.endsWith('.expected.json'))
  .map((n) => n.slice(0, -'.json'.length));

function native(path) {
  const out = spawnSync(bin, ['scenario', path], { encoding: 'utf8' });
  assert.equal(out.status, 0, `native runner failed on ${path}: ${out.stderr}`);
  return out.stdout.trimEnd();
}

test('there are at least 40 scenarios', () => {
  // Proves the suite is not silently empty.
  assert.ok(names.length >= 40, `only ${names.length} scenarios`);
});

for (const name of names) {
  test(`scenario ${name}: WASM in Node prints exactly what the native runner prints`, () => {
    // Proves the two runtimes agree byte for byte, and the object API agrees with the text API.
    const path = new URL(`${name}.json`, dir).pathname;
    const text = readFileSync(path, 'utf8');
    const wasm = runScenarioJson(text);
    assert.equal(wasm, native(path));
    assert.deepEqual(runScenario(text), JSON.parse(wasm));
  });
}

test('runner errors through the package are AiCreditsErrors with a code', () => {
  // Proves documents that are not scenarios throw a real Error with a stable code.
  const errors = new URL('tests/runner-errors/', root);
  for (const file of readdirSync(errors)) {
    const text = readFileSync(new URL(file, errors), 'utf8');
    assert.throws(() => runScenarioJson(text), (e) => e instanceof Error && typeof e.code === 'string' && e.code.length > 0, file);
  }
});
