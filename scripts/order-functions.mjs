// Orders a WebAssembly module's functions so that gzip compresses it better (issue 13: the
// package's gzipped size). gzip finds repeats within the last 32 KB it read, and a module's
// functions repeat each other most where they are alike (the instances of one generic
// function, the shims of one kind), which LLVM's order leaves apart. Each function is put
// after the one before it that shares the most 4-byte sequences with it, greedily from the
// first; the order changes nothing else.
//
//   node scripts/order-functions.mjs IN.wasm OUT.wasm
//
// OUT.wasm is IN.wasm with a name section naming each defined function by its place (and no
// other names); `wasm-opt --reorder-functions-by-name --strip-debug` then puts the functions in
// that order, renumbering every reference to them, and drops the names again
// (scripts/build-pkg.sh).
import { readFileSync, writeFileSync } from 'node:fs';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
  console.error('usage: node scripts/order-functions.mjs IN.wasm OUT.wasm');
  process.exit(2);
}
const bytes = readFileSync(input);

/** The module's sections: id, and where the payload starts and ends. */
function sections(b) {
  const found = [];
  let at = 8;
  while (at < b.length) {
    const start = at;
    const id = b[at++];
    const [size, next] = readLeb(b, at);
    found.push({ id, start, payload: next, end: next + size });
    at = next + size;
  }
  return found;
}

/** An unsigned LEB128 at `at`: its value and where it ends. */
function readLeb(b, at) {
  let value = 0;
  let scale = 1;
  let byte;
  do {
    byte = b[at++];
    value += (byte & 0x7f) * scale;
    scale *= 128;
  } while (byte & 0x80);
  return [value, at];
}

function leb(value) {
  const out = [];
  do {
    let byte = value & 0x7f;
    value = Math.floor(value / 128);
    if (value) byte |= 0x80;
    out.push(byte);
  } while (value);
  return Buffer.from(out);
}

const name = (text) => Buffer.concat([leb(Buffer.byteLength(text)), Buffer.from(text)]);

/** How many functions the module imports (they come before its own in the index space). */
function importedFunctions(b, section) {
  let [count, at] = readLeb(b, section.payload);
  let functions = 0;
  for (; count > 0; count--) {
    for (let i = 0; i < 2; i++) {
      const [length, next] = readLeb(b, at); // module, then field
      at = next + length;
    }
    const kind = b[at++];
    if (kind === 0) {
      functions++;
      at = readLeb(b, at)[1]; // type index
    } else if (kind === 1) {
      at++; // element type
      const flags = b[at++];
      at = readLeb(b, at)[1];
      if (flags & 1) at = readLeb(b, at)[1];
    } else if (kind === 2) {
      const flags = b[at++];
      at = readLeb(b, at)[1];
      if (flags & 1) at = readLeb(b, at)[1];
    } else if (kind === 3) {
      at += 2; // value type, mutability
    } else {
      throw new Error(`order-functions: unknown import kind ${kind}`);
    }
  }
  return functions;
}

/** The bodies of the module's own functions, in index order. */
function functionBodies(b, section) {
  let [count, at] = readLeb(b, section.payload);
  const bodies = [];
  for (; count > 0; count--) {
    const [size, next] = readLeb(b, at);
    bodies.push(b.subarray(next, next + size));
    at = next + size;
  }
  return bodies;
}

/** The order: from the first function, each next one the unplaced function sharing the most
 * distinct 4-byte sequences with the one placed last (the lowest index on a tie). */
function greedyOrder(bodies) {
  const grams = bodies.map((body) => {
    const seen = new Set();
    for (let p = 0; p + 4 <= body.length; p++) seen.add(body.readInt32LE(p));
    return [...seen];
  });
  const holders = new Map();
  grams.forEach((list, f) => {
    for (const g of list) {
      const fs = holders.get(g);
      if (fs) fs.push(f);
      else holders.set(g, [f]);
    }
  });
  const placed = new Uint8Array(bodies.length);
  const shared = new Int32Array(bodies.length);
  const order = [0];
  placed[0] = 1;
  for (let last = 0; order.length < bodies.length; ) {
    shared.fill(0);
    for (const g of grams[last]) for (const f of holders.get(g)) shared[f]++;
    let next = -1;
    for (let f = 0; f < bodies.length; f++) {
      if (!placed[f] && (next < 0 || shared[f] > shared[next])) next = f;
    }
    placed[next] = 1;
    order.push(next);
    last = next;
  }
  return order;
}

const all = sections(bytes);
const imports = all.find((s) => s.id === 2);
const code = all.find((s) => s.id === 10);
if (!code) throw new Error(`order-functions: ${input} has no code section`);
const imported = imports ? importedFunctions(bytes, imports) : 0;
const bodies = functionBodies(bytes, code);
const order = bodies.length ? greedyOrder(bodies) : [];

// Names that sort in that order: f000000, f000001, …
const place = new Array(bodies.length);
order.forEach((f, i) => (place[f] = i));
const entries = place.map((p, f) => Buffer.concat([leb(imported + f), name(`f${String(p).padStart(7, '0')}`)]));
const functionNames = Buffer.concat([leb(entries.length), ...entries]);
const payload = Buffer.concat([name('name'), Buffer.from([1]), leb(functionNames.length), functionNames]);

// Every section as it was but a name section, then the new one.
function customName(s) {
  if (s.id !== 0) return null;
  const [length, at] = readLeb(bytes, s.payload);
  return bytes.subarray(at, at + length).toString();
}
const kept = all.filter((s) => customName(s) !== 'name').map((s) => bytes.subarray(s.start, s.end));
writeFileSync(output, Buffer.concat([bytes.subarray(0, 8), ...kept, Buffer.from([0]), leb(payload.length), payload]));
