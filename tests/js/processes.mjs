// Shared by the tests that run a real `ai-credits serve` and Debian's Chromium (tests/js/sync,
// tests/e2e/webapp): a free loopback port, the server started and stopped, the browser launched.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { chromium } from 'playwright-core';

/** A port free on 127.0.0.1 right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Runs `bin serve ...args` with `env` added, and resolves once it prints its address. */
export function startServer(bin, args, env) {
  const child = spawn(bin, ['serve', ...args], {
    env: { ...process.env, RUST_LOG: 'warn', DATABASE_URL: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.on('data', (chunk) => { log += chunk; });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`the server did not start:\n${log}`)); }, 20_000);
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`the server exited (${code}):\n${log}`)); });
    // A binary that is not there (not built yet) fails at once, saying so.
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${bin} could not be run (${e.code ?? e.message}): build it first (cargo build --workspace --all-features)`));
    });
    child.stdout.on('data', (chunk) => {
      if (String(chunk).includes('ai-credits listening on')) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve(child);
      }
    });
  });
}

/** Kills a server (as a crash would) and waits until it is gone. */
export async function stopServer(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** Debian's Chromium, headless, with nothing reaching out to the network on its own. */
export function launchChromium() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', '--no-first-run', '--disable-quic'],
    timeout: 20_000,
  });
}
