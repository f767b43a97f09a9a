import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { postgresProcessesUnder, ROOT, start, type Running } from './helpers/process.js';

// The README's first ten minutes, as a new user runs them: every command of the "Run it" section
// (with "Connect a client") in a fresh copy of the checkout, verbatim. The differences, each what
// a reader does too: the server's PORT comes from the environment (of `npm start` only, so the
// other commands must find the server by themselves); `baton_…` is the token the first start
// printed and `http://127.0.0.1:8787` the URL it printed; `claude` is a stand-in that records
// registrations and refuses a name twice, as Claude Code does, and the test then connects to each
// registration the way Claude Code would. npm reads its cache first (npm_config_prefer_offline).

const README = await fs.readFile(path.join(ROOT, 'README.md'), 'utf8');

/** The sh commands of the "Run it" section, continuation lines joined. */
function commands(): string[] {
  const from = README.indexOf('\n## Run it');
  const to = README.indexOf('\n## ', from + 1);
  const section = README.slice(from, to);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return blocks.flatMap((b) =>
    b
      .replace(/\\\n\s*/g, '')
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Claude Code's `mcp add` and channel launch, as far as the README uses them. */
const CLAUDE_STUB = `#!/usr/bin/env node
const fs = require('fs');
const file = process.env.CLAUDE_STUB_STATE;
const state = fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : { servers: {}, channels: [] };
const args = process.argv.slice(2);
const save = () => fs.writeFileSync(file, JSON.stringify(state));
if (args[0] === 'mcp' && args[1] === 'add') {
  const pos = [], headers = [], env = {}; let transport = 'stdio', rest = [];
  for (let i = 2; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { rest = args.slice(i + 1); break; }
    if (a === '--transport' || a === '-t') transport = args[++i];
    else if (a === '--header' || a === '-H') headers.push(args[++i]);
    else if (a === '--env' || a === '-e') { const [k, ...v] = args[++i].split('='); env[k] = v.join('='); }
    else if (a.startsWith('-')) { console.error('unknown option ' + a); process.exit(2); }
    else pos.push(a);
  }
  const name = pos[0];
  if (state.servers[name]) { console.error('MCP server ' + name + ' already exists in local config'); process.exit(1); }
  state.servers[name] = transport === 'http'
    ? { type: 'http', url: pos[1], headers }
    : { type: 'stdio', command: rest[0] ?? pos[1], args: rest.length ? rest.slice(1) : pos.slice(2), env };
  save();
  console.log('Added ' + transport + ' MCP server ' + name);
} else if (args[0] === '--dangerously-load-development-channels') {
  const name = (args[1] || '').replace(/^server:/, '');
  if (!state.servers[name]) { console.error('no MCP server named ' + name); process.exit(1); }
  state.channels.push(name);
  save();
} else { console.error('stub: unsupported ' + args.join(' ')); process.exit(2); }
`;

const work: string[] = [];
let server: Running | undefined;
afterAll(async () => {
  if (server && server.child.exitCode === null) {
    try {
      process.kill(-(server.child.pid as number), 'SIGINT');
      await server.exited;
    } catch (err) {
      // Its process group is gone already (it stopped between the check and the signal).
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
    }
  }
  // npx links a checkout it runs a bin of into its cache; drop the links to our copies.
  const npx = path.join(os.homedir(), '.npm', '_npx');
  for (const entry of existsSync(npx) ? readdirSync(npx) : []) {
    const link = path.join(npx, entry, 'node_modules', 'baton');
    try {
      const target = path.resolve(path.dirname(link), readlinkSync(link));
      if (work.some((w) => target === w)) await fs.rm(path.join(npx, entry), { recursive: true });
    } catch {
      // not a link of ours
    }
  }
  await Promise.all(work.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function freshCheckout(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-readme-'));
  await fs.chmod(dir, 0o755);
  work.push(dir);
  // What a clone holds: the tracked files, plus new ones not ignored, as they are now.
  const files = execFileSync(
    'git',
    ['ls-files', '-z', '--cached', '--others', '--exclude-standard'],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  )
    .split('\0')
    .filter((f) => f && existsSync(path.join(ROOT, f)));
  for (const f of files) {
    await fs.mkdir(path.dirname(path.join(dir, f)), { recursive: true });
    await fs.copyFile(path.join(ROOT, f), path.join(dir, f));
  }
  return dir;
}

function run(cmd: string, cwd: string, env: Record<string, string>, until?: RegExp) {
  return new Promise<{ code: number | null; out: string }>((resolve) => {
    const child = spawn('bash', ['-c', cmd], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const take = (c: Buffer) => {
      out += c.toString();
      // A stream (curl -N) runs until stopped: stop it once it has shown what it streams.
      if (until?.test(out)) child.kill('SIGTERM');
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('exit', (code) => resolve({ code: until?.test(out) ? 0 : code, out }));
  });
}

async function mcpClient(transport: StreamableHTTPClientTransport | StdioClientTransport) {
  const client = new Client({ name: 'readme-test', version: '1' });
  await client.connect(transport);
  return client;
}

describe('README: Run it and Connect a client', () => {
  it('every command works verbatim from a fresh checkout, and the second agent joins lead', async () => {
    const cmds = commands();
    expect(cmds.slice(0, 2)).toEqual(['npm ci', 'npm start']);
    const dir = await freshCheckout();
    // Outside the checkout, whose package.json would make the stand-in an ES module.
    const stub = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-stub-'));
    work.push(stub);
    await fs.writeFile(path.join(stub, 'claude'), CLAUDE_STUB, { mode: 0o755 });
    const stateFile = path.join(stub, 'claude-state.json');
    const env = {
      PATH: `${stub}:${process.env.PATH ?? ''}`,
      HOME: os.homedir(),
      TMPDIR: os.tmpdir(),
      npm_config_prefer_offline: 'true',
      CLAUDE_STUB_STATE: stateFile,
    };
    const port = await freePort();
    let leadToken = '';
    let base = '';
    const outputs = new Map<string, string>();

    for (const raw of cmds) {
      if (process.env.README_TEST_VERBOSE) process.stderr.write(`$ ${raw}\n`);
      if (raw === 'npm start') {
        server = start(
          'bash',
          ['-c', raw],
          { ...env, PORT: String(port) },
          { detached: true, cwd: dir },
        );
        await server.waitFor(/Web admin: /, 120_000);
        const out = server.stdout();
        leadToken = /baton_[A-Za-z0-9_-]{43}/.exec(out)?.[0] ?? '';
        base = /MCP URL: (http:\/\/\S+)\/mcp/.exec(out)?.[1] ?? '';
        expect(base).toBe(`http://127.0.0.1:${port}`);
        expect(out).toContain(`claude mcp add --transport http baton ${base}/mcp`);
        continue;
      }
      const cmd = raw.replaceAll('baton_…', leadToken).replaceAll('http://127.0.0.1:8787', base);
      const streams = /^curl -\w*N/.test(cmd); // curl -N follows an event stream
      const r = await run(cmd, dir, env, streams ? /^id: \d+$/m : undefined);
      expect(r.code, `${raw}\n${r.out}`).toBe(0);
      outputs.set(raw, r.out);
    }

    // What each printed: URLs of the running server, whatever port it runs on.
    const out = (prefix: string) => [...outputs].find(([c]) => c.startsWith(prefix))?.[1] ?? '';
    const second = out('npx baton seed-token admin@localhost default claude-2');
    expect(second).toContain('token for admin/claude-2 in project default');
    expect(second).toContain(`MCP URL: ${base}/mcp`);
    const claude2 = /baton_[A-Za-z0-9_-]{43}/.exec(second)?.[0] as string;
    const human = JSON.parse(out('npx baton seed-token admin@localhost default ana')) as Record<
      string,
      string
    >;
    expect(human).toMatchObject({ actor: 'admin/ana', project: 'default', mcp_url: `${base}/mcp` });
    expect(out('npx -y @modelcontextprotocol/inspector@2.12.0 --cli')).toContain('whoami');
    expect(JSON.parse(out('curl -s -X POST'))).toMatchObject({ actor: 'admin/lead' });
    expect(out('curl -sN')).toMatch(/^event: participant_provisioned$/m);

    // Both registrations, under two names, reach Baton as admin/lead.
    const state = JSON.parse(await fs.readFile(stateFile, 'utf8')) as {
      servers: Record<string, any>;
      channels: string[];
    };
    expect(Object.keys(state.servers).sort()).toEqual(['baton', 'baton-channel']);
    expect(state.channels).toEqual(['baton-channel']);
    const http = state.servers.baton;
    const headers = Object.fromEntries(
      (http.headers as string[]).map((h) => h.split(/:\s*/, 2) as [string, string]),
    );
    const viaHttp = await mcpClient(
      new StreamableHTTPClientTransport(new URL(http.url), { requestInit: { headers } }),
    );
    const stdio = state.servers['baton-channel'];
    const viaStdio = await mcpClient(
      new StdioClientTransport({
        command: stdio.command,
        args: stdio.args,
        env: { PATH: env.PATH, HOME: env.HOME, ...stdio.env },
        stderr: 'ignore',
      }),
    );
    try {
      for (const c of [viaHttp, viaStdio]) {
        const me = await c.callTool({ name: 'whoami', arguments: {} });
        expect(me.structuredContent).toMatchObject({ actor: 'admin/lead', project: 'default' });
      }
      expect(viaStdio.getServerCapabilities()?.experimental).toHaveProperty('claude/channel');

      // The second agent is in lead's project: lead's broadcast reaches it.
      const agent2 = await mcpClient(
        new StreamableHTTPClientTransport(new URL(`${base}/mcp`), {
          requestInit: { headers: { Authorization: `Bearer ${claude2}` } },
        }),
      );
      const me2 = await agent2.callTool({ name: 'whoami', arguments: {} });
      expect(me2.structuredContent).toMatchObject({ actor: 'admin/claude-2', project: 'default' });
      const sent = await viaHttp.callTool({
        name: 'post',
        arguments: { broadcast: true, body: 'hello, team' },
      });
      const body = sent.structuredContent as Record<string, unknown>;
      expect(body.recipients).toEqual(expect.arrayContaining(['admin/claude-2', 'admin/ana']));
      expect(body).not.toHaveProperty('warning');
      await agent2.close();
    } finally {
      await viaHttp.close();
      await viaStdio.close();
    }

    const running = server as Running;
    process.kill(-(running.child.pid as number), 'SIGINT');
    await running.exited;
    expect(existsSync(path.join(dir, '.baton', 'server.json'))).toBe(false);
    expect(postgresProcessesUnder(dir)).toEqual([]);
  }, 600_000);
});
