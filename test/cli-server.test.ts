import fs from 'node:fs/promises';
import { existsSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../src/db/embedded.js';
import { CLI, postgresProcessesUnder, runCli, start } from './helpers/process.js';

// The verbs a user runs beside `npm start` on the embedded database: they find the running
// server through its data directory, and never make a second, empty database of their own.

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => fs.rm(d, { recursive: true, force: true })));
});

async function tempDir(prefix: string): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), prefix));
  await fs.chmod(dir, 0o755);
  dirs.push(dir);
  return dir;
}

function oneLine(r: { code: number | null; stderr: string }) {
  expect(r.code).toBe(1);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('verbs beside a running server', () => {
  it('seed-token and admin-link print the URL of the server on this data directory', async () => {
    const dataDir = await tempDir('baton-record-');
    const port = await freePort();
    const server = start(process.execPath, [CLI, 'serve'], {
      BATON_DATA_DIR: dataDir,
      PORT: String(port),
      LOG_LEVEL: 'info',
    });
    try {
      await server.waitFor(/Baton is ready/, 60_000);
      const record = JSON.parse(await fs.readFile(path.join(dataDir, 'server.json'), 'utf8'));
      expect(record).toMatchObject({ url: `http://127.0.0.1:${port}`, pid: server.child.pid });

      // No PORT here: the verbs learn it from the data directory.
      const env = { BATON_DATA_DIR: dataDir, LOG_LEVEL: 'silent' };
      const seeded = await runCli(['seed-token', 'admin@localhost', 'default', 'claude-2'], env);
      expect(seeded.code, seeded.stderr).toBe(0);
      expect(seeded.stdout).toContain('token for admin/claude-2 in project default');
      expect(seeded.stdout).toContain(`MCP URL: http://127.0.0.1:${port}/mcp`);
      const json = await runCli(['seed-token', 'admin@localhost', 'default', 'ana', '--json'], env);
      expect(JSON.parse(json.stdout)).toMatchObject({ mcp_url: `http://127.0.0.1:${port}/mcp` });
      const link = await runCli(['admin-link', 'admin@localhost'], env);
      expect(link.code, link.stderr).toBe(0);
      expect(link.stdout).toMatch(
        new RegExp(`^http://127\\.0\\.0\\.1:${port}/admin/login/link\\?token=`),
      );
      // PUBLIC_URL, when given, still wins.
      const pub = await runCli(['admin-link', 'admin@localhost'], {
        ...env,
        PUBLIC_URL: 'https://baton.example.test',
      });
      expect(pub.stdout).toMatch(/^https:\/\/baton\.example\.test\/admin\/login\/link/);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
    expect(existsSync(path.join(dataDir, 'server.json'))).toBe(false);
    expect(postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('seed-token, admin-link and export refuse a data directory no server has made, and create nothing', async () => {
    const parent = await tempDir('baton-none-');
    const dataDir = path.join(parent, 'data');
    for (const args of [
      ['seed-token', 'admin@localhost', 'default', 'claude-2'],
      ['admin-link', 'admin@localhost'],
      ['export', '--project', 'default'],
    ]) {
      const r = await runCli(args, { BATON_DATA_DIR: dataDir, LOG_LEVEL: 'silent' });
      oneLine(r);
      expect(r.stderr).toContain(`no Baton database in ${dataDir}`);
      expect(r.stderr).toMatch(/npm start/);
      expect(existsSync(dataDir)).toBe(false);
    }
  });
});

describe('serve on a taken port', () => {
  it('says so in one line before it touches a database', async () => {
    const parent = await tempDir('baton-taken-');
    const dataDir = path.join(parent, 'data');
    const port = await freePort();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const r = await runCli(['serve'], {
        BATON_DATA_DIR: dataDir,
        PORT: String(port),
        LOG_LEVEL: 'silent',
      });
      oneLine(r);
      expect(r.stderr).toContain(`port ${port} on 127.0.0.1 is already in use`);
      expect(existsSync(dataDir)).toBe(false);
    } finally {
      await new Promise((resolve) => blocker.close(resolve));
    }
  });
});
