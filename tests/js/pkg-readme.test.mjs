// Every snippet of the package's guide (pkg/README.md) runs as written and prints what its
// `// →` comments say: `js` blocks as ES modules, `cjs` blocks as CommonJS, `jsx` blocks
// compiled by esbuild and run on jsdom. Each runs in a fresh folder that depends on pkg/, with
// a real `ai-credits serve` and an account for the sync client's (AI_CREDITS_URL, _ACCOUNT,
// _TOKEN in its environment).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transformSync } from 'esbuild';
import { freePort, startServer, stopServer } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/debug/ai-credits');
const guide = readFileSync(join(root, 'pkg/README.md'), 'utf8');
const blocks = [...guide.matchAll(/```(js|cjs|jsx)\n([\s\S]*?)```/g)].map((m) => ({ kind: m[1], code: m[2] }));

/** What a block promises to print: the `// →` comment after each printing line, in order. */
function promised(code) {
  return [...code.matchAll(/^\s*\/\/ → (.+)$/gm)].map((m) => m[1].trim());
}

test('the guide has a runnable snippet for each thing it teaches', () => {
  // Proves the guide is not prose only: Node (ESM and CommonJS), lifecycle, errors, the sync client and React each have a block that promises output.
  assert.deepEqual([...new Set(blocks.map((b) => b.kind))].sort(), ['cjs', 'js', 'jsx']);
  assert.ok(blocks.length >= 6, `${blocks.length} blocks`);
  for (const block of blocks) assert.ok(promised(block.code).length > 0, `a block promises nothing:\n${block.code}`);
});

test("every snippet of the package's guide prints what its comments promise", { timeout: 120_000 }, async () => {
  // Proves each js/cjs/jsx block of pkg/README.md runs unchanged against the built package (and a real server for the client) and prints exactly its `// →` lines.
  const ADMIN = `guide-admin-${process.pid}`;
  const dir = mkdtempSync(join(tmpdir(), 'ai-credits-guide-'));
  symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const server = await startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', join(dir, 'ai-credits.db')], { AI_CREDITS_ADMIN_TOKEN: ADMIN });
  try {
    const api = async (path, body) => (await fetch(base + path, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    })).json();
    const account = (await api('/v1/accounts', { plan: 'growth' })).id;
    const token = (await api(`/v1/accounts/${account}/tokens`, { member: 'ana', role: 'member' })).token;
    const env = { ...process.env, AI_CREDITS_URL: base, AI_CREDITS_ACCOUNT: account, AI_CREDITS_TOKEN: token };
    blocks.forEach(({ kind, code }, i) => {
      const file = join(dir, `snippet-${i}.${kind === 'cjs' ? 'cjs' : 'mjs'}`);
      const source = kind === 'jsx'
        ? `import 'global-jsdom/register';\n${transformSync(code, { loader: 'jsx', jsx: 'automatic', format: 'esm' }).code}`
        : code;
      writeFileSync(file, source);
      const out = spawnSync(process.execPath, [file], { encoding: 'utf8', env, cwd: dir });
      assert.equal(out.status, 0, `snippet ${i} (${kind}) failed:\n${code}\n${out.stderr}`);
      assert.deepEqual(out.stdout.trim().split('\n'), promised(code), `snippet ${i} (${kind}) printed otherwise:\n${code}`);
    });
  } finally {
    await stopServer(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
