// The JS example in README.md runs as written, and prints what its comments say.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, symlinkSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('the README example prints the values its comments promise', () => {
  // Proves the README's JS example is real: run it in a fresh folder that depends on pkg/.
  const root = new URL('../../', import.meta.url).pathname;
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const code = readme.match(/```js\n([\s\S]*?)```/)[1];
  const dir = mkdtempSync(join(tmpdir(), 'readme-'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  writeFileSync(join(dir, 'example.mjs'), code);
  const out = spawnSync(process.execPath, [join(dir, 'example.mjs')], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  // Each console.log line ends with a comment saying what it prints.
  const promised = [...code.matchAll(/console\.log\(.*\/\/ (.+)$/gm)].map((m) => m[1].trim());
  assert.ok(promised.length >= 3, 'the example promises something');
  assert.deepEqual(out.stdout.trim().split('\n'), promised);
});
