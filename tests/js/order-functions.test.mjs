// scripts/order-functions.mjs, the build's step that orders a module's functions for gzip:
// it adds a name section and changes nothing else, its order puts alike functions together,
// and wasm-opt's reordering by those names keeps what every function does.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('../../', import.meta.url).pathname;
const script = join(root, 'scripts/order-functions.mjs');
const bin = (name) => join(root, 'node_modules/.bin', name);
const dir = mkdtempSync(join(tmpdir(), 'ai-credits-order-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Reads unsigned LEB128 numbers from `bytes`, from `cursor.at` on. (The test reads modules on
 * its own rather than with the script's reader, so that a fault there cannot hide itself.) */
function leb(bytes, cursor) {
  let value = 0;
  let scale = 1;
  let byte;
  do {
    byte = bytes[cursor.at++];
    value += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  return value;
}

/** A module's sections: id, the custom section's name, and the whole section's bytes. */
function sections(bytes) {
  const found = [];
  const cursor = { at: 8 };
  while (cursor.at < bytes.length) {
    const start = cursor.at;
    const id = bytes[cursor.at++];
    const size = leb(bytes, cursor);
    const end = cursor.at + size;
    let name = null;
    if (id === 0) {
      const length = leb(bytes, cursor);
      name = bytes.subarray(cursor.at, cursor.at + length).toString();
    }
    found.push({ id, name, bytes: bytes.subarray(start, end), payload: bytes.subarray(end - size, end) });
    cursor.at = end;
  }
  return found;
}

/** The function names of a module's name section, by function index. */
function functionNames(bytes) {
  const names = new Map();
  const section = sections(bytes).find((s) => s.name === 'name');
  if (!section) return names;
  const b = section.payload;
  const cursor = { at: 0 };
  const own = leb(b, cursor); // the section's own name, "name"
  cursor.at += own;
  while (cursor.at < b.length) {
    const kind = b[cursor.at++];
    const size = leb(b, cursor);
    const end = cursor.at + size;
    if (kind === 1) {
      for (let count = leb(b, cursor); count > 0; count--) {
        const index = leb(b, cursor);
        const length = leb(b, cursor);
        names.set(index, b.subarray(cursor.at, cursor.at + length).toString());
        cursor.at += length;
      }
    }
    cursor.at = end;
  }
  return names;
}

const order = (input, output) => execFileSync(process.execPath, [script, input, output]);

test('on the estimator module it adds one name section and leaves every other byte as it was', () => {
  // Proves the ordering step cannot change what the module does: all sections but the name section are byte for byte the same, in the same order, and the names are a permutation of the places.
  const input = join(root, 'pkg/ai_credits_tokens_bg.wasm');
  const output = join(dir, 'tokens.ordered.wasm');
  order(input, output);
  const before = sections(readFileSync(input)).filter((s) => s.name !== 'name');
  const after = readFileSync(output);
  const kept = sections(after).filter((s) => s.name !== 'name');
  assert.equal(kept.length, before.length);
  kept.forEach((s, i) => assert.ok(s.bytes.equals(before[i].bytes), `section ${i} (id ${s.id}) changed`));
  assert.equal(sections(after).filter((s) => s.name === 'name').length, 1);
  assert.ok(WebAssembly.validate(after));
  const module = new WebAssembly.Module(after);
  const imported = WebAssembly.Module.imports(module).filter((i) => i.kind === 'function').length;
  const names = functionNames(after);
  const places = [...names.entries()].map(([index, name]) => {
    assert.ok(index >= imported, `an imported function (${index}) is named`);
    assert.match(name, /^f\d{7}$/);
    return Number(name.slice(1));
  });
  places.sort((a, b) => a - b);
  assert.deepEqual(places, places.map((_, i) => i));
  assert.ok(places.length > 10, `only ${places.length} functions named`);
});

test('alike functions are put together, and wasm-opt reorders by the names keeping what each does', () => {
  // Proves the greedy order on a small module (the first function stays first, its twin follows it, the unlike one goes last) and that the build's reordering by name keeps every export's result.
  const wat = `(module
    (func (export "a") (result i32)
      (i32.add (i32.mul (i32.const 1234567) (i32.const 7654321)) (i32.const 99999)))
    (func (export "b") (result f64)
      (f64.div (f64.sqrt (f64.const 2)) (f64.const 3)))
    (func (export "c") (result i32)
      (i32.add (i32.mul (i32.const 1234567) (i32.const 7654321)) (i32.const 99998))))`;
  writeFileSync(join(dir, 'small.wat'), wat);
  execFileSync(bin('wasm-as'), [join(dir, 'small.wat'), '-o', join(dir, 'small.wasm')]);
  order(join(dir, 'small.wasm'), join(dir, 'small.ordered.wasm'));
  const names = functionNames(readFileSync(join(dir, 'small.ordered.wasm')));
  assert.deepEqual([...names.entries()].sort(), [[0, 'f0000000'], [1, 'f0000002'], [2, 'f0000001']]);

  execFileSync(bin('wasm-opt'), [
    '--reorder-functions-by-name', '--strip-debug', join(dir, 'small.ordered.wasm'), '-o', join(dir, 'small.final.wasm'),
  ]);
  const run = (file) => {
    const { exports } = new WebAssembly.Instance(new WebAssembly.Module(readFileSync(file)));
    return { a: exports.a(), b: exports.b(), c: exports.c() };
  };
  assert.deepEqual(run(join(dir, 'small.final.wasm')), run(join(dir, 'small.wasm')));
  // The twins are now neighbours in the code: "c" is the second function.
  const dis = execFileSync(bin('wasm-dis'), [join(dir, 'small.final.wasm')], { encoding: 'utf8' });
  const funcs = [...dis.matchAll(/^ \(func \$(\S+)/gm)].map((m) => m[1]);
  const exportsOf = Object.fromEntries([...dis.matchAll(/\(export "(\w)" \(func \$(\S+)\)\)/g)].map((m) => [m[2], m[1]]));
  assert.deepEqual(funcs.map((f) => exportsOf[f]), ['a', 'c', 'b']);
});
