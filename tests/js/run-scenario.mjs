#!/usr/bin/env node
// Runs a SPEC §4 scenario through the built npm package and prints the result JSON, byte for
// byte what `ai-credits scenario PATH` prints. PATH `-` reads stdin.
// Usage: node tests/js/run-scenario.mjs PATH
import { readFileSync } from 'node:fs';
import { runScenarioJson } from 'ai-credits';

const path = process.argv[2];
if (!path) {
  console.error('usage: node tests/js/run-scenario.mjs PATH   (PATH - reads stdin)');
  process.exit(64);
}
let text;
try {
  text = readFileSync(path === '-' ? 0 : path, 'utf8');
} catch (e) {
  console.error(`run-scenario: cannot read ${path}: ${e.message}`);
  process.exit(66);
}
try {
  console.log(runScenarioJson(text));
} catch (e) {
  console.error(`run-scenario: ${path}: ${e.message} (${e.code ?? 'no code'})`);
  process.exit(2);
}
