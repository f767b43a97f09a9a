import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { CLI, postgresProcessesUnder, start, type Running } from './helpers/process.js';
import { eventually, readSse } from './helpers/sse.js';

// The real thing: `npm start` on a fresh data directory with no DATABASE_URL, as a new user runs it.

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function whoami(url: string, token: string) {
  const client = new Client({ name: 'process-test', version: '1' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
    }),
  );
  try {
    return (await client.callTool({ name: 'whoami', arguments: {} })).structuredContent as Record<
      string,
      unknown
    >;
  } finally {
    await client.close();
  }
}

/** Sends the signal, then asserts the process is gone within the 5 s the spec allows. */
async function stopWithin5s(p: Running, signal: NodeJS.Signals, group = false) {
  if (group) process.kill(-(p.child.pid as number), signal);
  else p.child.kill(signal);
  const outcome = await Promise.race([
    p.exited,
    new Promise<'late'>((r) => setTimeout(() => r('late'), 5_000)),
  ]);
  expect(outcome, 'Baton did not exit within 5 s').not.toBe('late');
  return outcome as { code: number | null };
}

describe('npm start on a fresh machine', () => {
  it('bootstraps once, serves, reuses its data, and shuts down cleanly on SIGINT and SIGTERM', async () => {
    const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-start-'));
    dirs.push(dataDir);
    await fs.chmod(dataDir, 0o755);
    const port = await freePort();
    const env = { BATON_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'info' };
    const mcpUrl = `http://127.0.0.1:${port}/mcp`;

    // First start through npm, stopped the way Ctrl-C stops it: SIGINT to the process group.
    const first = start('npm', ['start', '--silent'], env, { detached: true });
    await first.waitFor(/Baton is ready/, 60_000);
    const token = /baton_[A-Za-z0-9_-]{43}/.exec(first.stdout())?.[0];
    expect(token).toBeDefined();
    expect(first.stdout()).toContain(
      `claude mcp add --transport http baton ${mcpUrl} --header "Authorization: Bearer ${token}"`,
    );
    expect(first.stdout()).toContain('"mcpServers"');
    expect(await whoami(mcpUrl, token as string)).toMatchObject({
      actor: 'admin/lead',
      project: 'default',
      is_admin: true,
    });
    await stopWithin5s(first, 'SIGINT', true);
    // npm itself dies of the SIGINT; Baton under it shuts down gracefully.
    expect(first.stdout()).toMatch(/"signal":"SIGINT","msg":"shutting down"/);
    expect(postgresProcessesUnder(dataDir)).toEqual([]);

    // Second start: same data, no new token; SIGTERM while a request is in flight.
    const second = start(process.execPath, [CLI, 'serve'], env);
    await second.waitFor(/Baton is ready/, 60_000);
    expect(second.stdout()).not.toMatch(/baton_[A-Za-z0-9_-]{43}/);
    expect(await whoami(mcpUrl, token as string)).toMatchObject({ actor: 'admin/lead' });

    // An open event stream does not hold up the shutdown: it is ended, and its client resumes.
    const stream = await readSse(`http://127.0.0.1:${port}/api/v1/events`, {
      authorization: `Bearer ${token}`,
    });
    expect(stream.status).toBe(200);
    await eventually(() => expect(stream.lastId()).toBeDefined());

    const body = JSON.stringify({});
    const inFlight = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(
        `http://127.0.0.1:${port}/api/v1/tools/whoami`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${token}`,
            'content-type': 'application/json',
            'content-length': body.length,
          },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 1)); // the request has started but is not complete
      setTimeout(() => {
        second.child.kill('SIGTERM');
        setTimeout(() => req.end(body.slice(1)), 300);
      }, 200);
    });
    const answered = await inFlight;
    expect(answered.status).toBe(200);
    expect(JSON.parse(answered.body)).toMatchObject({ actor: 'admin/lead' });
    const outcome = await Promise.race([
      second.exited,
      new Promise<'late'>((r) => setTimeout(() => r('late'), 5_000)),
    ]);
    expect(outcome).toEqual({ code: 0, signal: null });
    await stream.ended;
    expect(postgresProcessesUnder(dataDir)).toEqual([]);
    expect(second.stdout()).toMatch(/shutting down/);
  });
});
