// The official OpenAI and Anthropic npm SDKs, unchanged, pointed at the gateway of a real
// `ai-credits serve` (SPEC §5.4): base URL = the account's provider path, API key = the
// account's service token. Behind the gateway, fake providers on loopback that answer as the
// providers' documentation shows (JSON and server-sent events). This is the README's example.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { freePort, startServer, stopServer } from './processes.mjs';

const root = new URL('../../', import.meta.url).pathname;
const bin = process.env.AI_CREDITS_BIN ?? join(root, 'target/debug/ai-credits');
const ADMIN = `gateway-sdk-admin-${process.pid}`;
const PLATFORM = { openai: 'sk-platform-openai-sdk', anthropic: 'sk-ant-platform-sdk' };

/** Fake OpenAI and Anthropic APIs; `seen` collects the keys they were called with. */
function fakeProviders(seen) {
  return createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const request = JSON.parse(body || '{}');
      seen.push(req.headers['x-api-key'] ?? (req.headers.authorization ?? '').replace('Bearer ', ''));
      if (req.url === '/openai/v1/chat/completions') {
        const usage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 };
        if (!request.stream) {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ id: 'c1', object: 'chat.completion', created: 1, model: request.model,
            choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from OpenAI' }, finish_reason: 'stop' }], usage }));
          return;
        }
        res.setHeader('content-type', 'text/event-stream');
        for (const word of ['Hello ', 'from ', 'a ', 'stream']) {
          res.write(`data: ${JSON.stringify({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [{ index: 0, delta: { content: word } }] })}\n\n`);
        }
        if (request.stream_options?.include_usage) {
          res.write(`data: ${JSON.stringify({ id: 'c2', object: 'chat.completion.chunk', created: 1, model: request.model, choices: [], usage })}\n\n`);
        }
        res.end('data: [DONE]\n\n');
        return;
      }
      if (req.url === '/anthropic/v1/messages') {
        const message = { id: 'm1', type: 'message', role: 'assistant', model: request.model, stop_reason: 'end_turn', stop_sequence: null };
        if (!request.stream) {
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ ...message, content: [{ type: 'text', text: 'Hello from Claude' }], usage: { input_tokens: 10, output_tokens: 6 } }));
          return;
        }
        res.setHeader('content-type', 'text/event-stream');
        const send = (type, data) => res.write(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
        send('message_start', { message: { ...message, content: [], stop_reason: null, usage: { input_tokens: 10, output_tokens: 1 } } });
        send('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
        send('content_block_delta', { index: 0, delta: { type: 'text_delta', text: 'Streamed Claude' } });
        send('content_block_stop', { index: 0 });
        send('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 6 } });
        send('message_stop', {});
        res.end();
        return;
      }
      res.statusCode = 404;
      res.end('{}');
    });
  });
}

test('the OpenAI and Anthropic SDKs work through the gateway unchanged, streaming included', async () => {
  // Proves each SDK, given the gateway as its base URL and the service token as its key, gets its answers whole and streamed, the README's example runs as written, the providers see the platform's keys, and each call is charged once.
  const seen = [];
  const fake = fakeProviders(seen);
  await new Promise((resolve) => fake.listen(0, '127.0.0.1', resolve));
  const fakeBase = `http://127.0.0.1:${fake.address().port}`;
  const port = await freePort();
  const db = join(mkdtempSync(join(tmpdir(), 'ai-credits-sdk-')), 'ai-credits.db');
  let server;
  try {
    // Inside the try: a server that cannot start still closes the fake providers.
    server = await startServer(bin, ['--addr', `127.0.0.1:${port}`, '--db', db], {
      AI_CREDITS_ADMIN_TOKEN: ADMIN,
      AI_CREDITS_PROVIDER_BASE_OPENAI: `${fakeBase}/openai`,
      AI_CREDITS_PROVIDER_BASE_ANTHROPIC: `${fakeBase}/anthropic`,
      AI_CREDITS_PLATFORM_KEY_OPENAI: PLATFORM.openai,
      AI_CREDITS_PLATFORM_KEY_ANTHROPIC: PLATFORM.anthropic,
    });
    const base = `http://127.0.0.1:${port}`;
    const api = async (method, path, token, body) => {
      const r = await fetch(`${base}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body && JSON.stringify(body) });
      return r.json();
    };
    const { id } = await api('POST', '/v1/accounts', ADMIN, { plan: 'growth' });
    const { token } = await api('POST', `/v1/accounts/${id}/tokens`, ADMIN, { member: 'host-app', role: 'service' });

    // The host app's code: each provider's own SDK, pointed at the gateway.
    const openai = new OpenAI({ apiKey: token, baseURL: `${base}/v1/accounts/${id}/providers/openai` });
    const anthropic = new Anthropic({ apiKey: token, baseURL: `${base}/v1/accounts/${id}/providers/anthropic` });

    const whole = await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 200 });
    assert.equal(whole.choices[0].message.content, 'Hello from OpenAI');
    const stream = await openai.chat.completions.create({ model: 'gpt-5', messages: [{ role: 'user', content: 'Hi' }], max_tokens: 200, stream: true });
    let streamed = '';
    for await (const chunk of stream) {
      assert.equal(chunk.usage ?? null, null, 'no usage chunk the caller did not ask for');
      streamed += chunk.choices[0]?.delta?.content ?? '';
    }
    assert.equal(streamed, 'Hello from a stream');

    const message = await anthropic.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'Hi' }] });
    assert.equal(message.content[0].text, 'Hello from Claude');
    const final = await anthropic.messages.stream({ model: 'claude-sonnet-4-6', max_tokens: 200, messages: [{ role: 'user', content: 'Hi' }] }).finalMessage();
    assert.equal(final.content[0].text, 'Streamed Claude');

    // The README's example, run as written against this server.
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const example = readme.match(/```js\n(\/\/ The host app's backend[\s\S]*?)```/)[1];
    const dir = mkdtempSync(join(tmpdir(), 'gateway-readme-'));
    symlinkSync(join(root, 'node_modules'), join(dir, 'node_modules'));
    const given = `const SERVER = ${JSON.stringify(base)}; const ACCOUNT = ${JSON.stringify(id)}; const SERVICE_TOKEN = ${JSON.stringify(token)};\n`;
    writeFileSync(join(dir, 'example.mjs'), given + example);
    // Not spawnSync: the fake providers answer from this process's event loop.
    const run = await promisify(execFile)(process.execPath, [join(dir, 'example.mjs')], { encoding: 'utf8' });
    assert.equal(run.stdout, 'Hello from OpenAI\nStreamed Claude');

    assert.deepEqual(seen, [PLATFORM.openai, PLATFORM.openai, PLATFORM.anthropic, PLATFORM.anthropic, PLATFORM.openai, PLATFORM.anthropic]);
    const state = await api('GET', `/v1/accounts/${id}/state`, token);
    assert.equal(state.entries.length, 6, JSON.stringify(state.entries));
    assert.ok(state.entries.some((e) => e.member === 'ana' && e.feature === 'assistant'), 'the headers attribute the call');
    assert.ok(state.entries.every((e) => e.credits > 0 && e.billed_to === 'credits' && !e.estimated));
    assert.equal(state.held, 0);
  } finally {
    await stopServer(server);
    fake.close();
  }
});
