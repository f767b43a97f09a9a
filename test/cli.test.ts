import fs from 'node:fs';
import os from 'node:os';
import { inject, describe, expect, it } from 'vitest';
import { adminQuery, withDatabase } from './helpers/pg.js';
import { useTestDatabase } from './helpers/db.js';
import { runCli } from './helpers/process.js';
import { VERBS } from '../src/cli/verbs.js';
import { startTestBaton } from './helpers/baton.js';

const t = useTestDatabase();
const env = () => ({ DATABASE_URL: t.url, LOG_LEVEL: 'silent' });

/** A failure is one line on stderr, a non-zero exit, and no stack trace. */
function expectOneLineFailure(r: { code: number | null; stdout: string; stderr: string }) {
  expect(r.code).not.toBe(0);
  expect(r.code).not.toBeNull();
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).toMatch(/^baton/);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
}

describe('baton seed-token', () => {
  it('--json prints exactly one JSON object and nothing else on stdout', async () => {
    const r = await runCli(
      ['seed-token', 'dev@example.test', 'json-project', 'claude-1', '--json', '--admin'],
      env(),
    );
    expect(r.code).toBe(0);
    const parsed = JSON.parse(r.stdout) as Record<string, string>;
    expect(Object.keys(parsed).sort()).toEqual([
      'actor',
      'mcp_url',
      'participant',
      'project',
      'token',
    ]);
    expect(parsed).toMatchObject({
      actor: 'dev/claude-1',
      project: 'json-project',
      participant: 'claude-1',
    });
    expect(parsed.token).toMatch(/^baton_[A-Za-z0-9_-]{43}$/);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
  });

  it('mints a token the official MCP client can use: tools/list and whoami', async () => {
    const r = await runCli(
      ['seed-token', 'sdk@example.test', 'sdk-project', 'claude-9', '--json'],
      env(),
    );
    const { token } = JSON.parse(r.stdout) as { token: string };
    const baton = await startTestBaton({ database: { url: t.url } });
    try {
      const client = await baton.connect(token);
      expect((await client.listTools()).tools.map((x) => x.name)).toContain('whoami');
      const me = await client.callTool({ name: 'whoami', arguments: {} });
      expect(me.structuredContent).toMatchObject({
        actor: 'sdk/claude-9',
        project: 'sdk-project',
        kind: 'agent',
      });
    } finally {
      await baton.close();
    }
  });

  it('mints a new token for an existing participant and keeps the old one', async () => {
    const a = JSON.parse(
      (await runCli(['seed-token', 'dev@example.test', 'p2', 'bot', '--json'], env())).stdout,
    ) as { token: string };
    const b = JSON.parse(
      (await runCli(['seed-token', 'dev@example.test', 'p2', 'bot', '--json'], env())).stdout,
    ) as { token: string };
    expect(a.token).not.toBe(b.token);
    const rows = await t.db
      .selectFrom('tokens')
      .select('id')
      .where('revoked_at', 'is', null)
      .execute();
    expect(rows.length).toBeGreaterThanOrEqual(2);
  });
});

describe('baton bootstrap-owner', () => {
  it('derives a handle from the email and avoids collisions', async () => {
    const a = await runCli(['bootstrap-owner', 'Jo.Smith@one.test'], env());
    expect(a.stdout).toMatch(/created: owner Jo.Smith@one.test with handle jo-smith/);
    const b = await runCli(['bootstrap-owner', 'jo.smith@two.test'], env());
    expect(b.stdout).toMatch(/handle jo-smith-2/);
    const again = await runCli(['bootstrap-owner', 'JO.SMITH@one.test'], env());
    expect(again.stdout).toMatch(/exists: owner .* with handle jo-smith$/m);
    const chosen = await runCli(
      ['bootstrap-owner', 'x@three.test', '--handle', 'chosen-one'],
      env(),
    );
    expect(chosen.stdout).toMatch(/handle chosen-one/);
  });
});

describe('bad input on every verb', () => {
  const cases: [string, string[], Record<string, string>?][] = [
    ['no command', []],
    ['unknown command', ['frobnicate']],
    ['serve with an argument', ['serve', 'extra']],
    ['serve with an unknown flag', ['serve', '--port=1']],
    ['migrate with an unknown flag', ['migrate', '--force']],
    ['bootstrap-owner without an email', ['bootstrap-owner']],
    ['bootstrap-owner with a bad email', ['bootstrap-owner', 'not-an-email']],
    [
      'bootstrap-owner with a bad handle',
      ['bootstrap-owner', 'a@b.test', '--handle', 'Bad Handle'],
    ],
    [
      'bootstrap-owner with a taken handle',
      ['bootstrap-owner', 'other@b.test', '--handle', 'jo-smith'],
    ],
    ['seed-token with missing arguments', ['seed-token', 'a@b.test']],
    ['seed-token with a bad kind', ['seed-token', 'a@b.test', 'p', 'x', '--kind', 'robot']],
    ['seed-token with a bad slug', ['seed-token', 'a@b.test', 'Not A Slug', 'x']],
    ['seed-token with a bad label', ['seed-token', 'a@b.test', 'p', 'a/b']],
    [
      'seed-token with a control character in the label',
      ['seed-token', 'a@b.test', 'p', 'a\u0001b'],
    ],
    ['bad configuration', ['migrate'], { PORT: 'abc', LOG_LEVEL: 'loud', BATON_RATE_LIMIT: '-1' }],
    ['export without a project', ['export']],
    ['export of an unknown project', ['export', '--project', 'nope']],
    ['import without an owner', ['import', '--project', 'p']],
    [
      'import of a missing file',
      ['import', '--project', 'p', '--owner', 'a@b.test', '--in', '/nonexistent/x.jsonl'],
    ],
  ];
  it.each(cases)('%s exits non-zero with one line', async (_name, args, extra) => {
    expectOneLineFailure(await runCli(args, { ...env(), ...extra }));
  });

  it('reports every configuration problem together', async () => {
    const r = await runCli(['migrate'], { ...env(), PORT: 'abc', LOG_LEVEL: 'loud' });
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/LOG_LEVEL/);
  });

  it('--help (or -h) prints the usage of every verb, whatever positionals follow', async () => {
    for (const entry of VERBS) {
      const verb = await entry.load();
      const r = await runCli([verb.name, '--help'], env());
      expect(r.code, verb.name).toBe(0);
      expect(r.stdout, verb.name).toBe(`${verb.usage}\n`);
      expect(r.stdout).toMatch(new RegExp(`baton ${verb.name}`));
    }
    const short = await runCli(['prune', '-h', 'extra'], env());
    expect([short.code, short.stdout]).toEqual([
      0,
      `${(await VERBS.find((v) => v.name === 'prune')?.load())?.usage}\n`,
    ]);
    expect((await runCli(['--help'])).stdout).toMatch(/seed-token/);
  });
});

describe('baton serve on an external database', () => {
  it('refuses an unmigrated schema with a one-line reason', async () => {
    const name = `baton_empty_${process.pid}`;
    const admin = inject('pgAdminUrl');
    await adminQuery(admin, `create database ${name}`);
    try {
      const r = await runCli(['serve'], {
        DATABASE_URL: withDatabase(admin, name),
        PORT: '0',
        LOG_LEVEL: 'silent',
      });
      expectOneLineFailure(r);
      expect(r.stderr).toMatch(/not migrated .*run `npx baton migrate`/);
      const m = await runCli(['migrate'], { DATABASE_URL: withDatabase(admin, name) });
      expect(m.stdout).toMatch(/applied \d+ migration/);
      const again = await runCli(['migrate'], { DATABASE_URL: withDatabase(admin, name) });
      expect(again.stdout).toMatch(/already current/);
    } finally {
      await adminQuery(admin, `drop database if exists ${name} with (force)`);
    }
  });

  it('refuses a schema newer than it knows', async () => {
    await t.db
      .insertInto('kysely_migration' as never)
      .values({ name: '9999_later', timestamp: new Date().toISOString() } as never)
      .execute();
    try {
      const r = await runCli(['serve'], { ...env(), PORT: '0' });
      expectOneLineFailure(r);
      expect(r.stderr).toMatch(/newer than this Baton .*9999_later/);
    } finally {
      await t.db
        .deleteFrom('kysely_migration' as never)
        .where('name' as never, '=', '9999_later' as never)
        .execute();
    }
  });
});

describe('baton export and import', () => {
  it('round-trips a project ledger into an empty database exactly, and refuses to overwrite', async () => {
    const baton = await startTestBaton({ database: { url: t.url } });
    let exported = '';
    try {
      const admin = await baton.seed({
        email: 'porter@example.test',
        projectSlug: 'portable',
        label: 'lead',
        admin: true,
      });
      const client = await baton.connect(admin.token);
      const task = await client.callTool({
        name: 'task_create',
        arguments: { title: 'move me', detail: 'ünïcødé ✓' },
      });
      const id = (task.structuredContent as { task: { task_id: number } }).task.task_id;
      await client.callTool({ name: 'task_start', arguments: { task_id: id } });
      await client.callTool({ name: 'task_ship', arguments: { task_id: id, ref: 'commit abc' } });
      await client.callTool({ name: 'create_invite', arguments: { uses: 2 } });
    } finally {
      await baton.close();
    }
    const out = await runCli(['export', '--project', 'portable'], env());
    expect(out.code).toBe(0);
    exported = out.stdout;
    const lines = exported.trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(5);

    const admin = inject('pgAdminUrl');
    const name = `baton_import_${process.pid}`;
    await adminQuery(admin, `create database ${name} template ${inject('templateDb')}`);
    const target = { DATABASE_URL: withDatabase(admin, name), LOG_LEVEL: 'silent' };
    try {
      const file = `${os.tmpdir()}/baton-export-${process.pid}.jsonl`;
      fs.writeFileSync(file, exported);
      const imp = await runCli(
        ['import', '--project', 'portable', '--owner', 'porter@example.test', '--in', file],
        target,
      );
      expect(imp.code, imp.stderr).toBe(0);
      const back = await runCli(['export', '--project', 'portable'], target);
      expect(back.stdout).toBe(exported);
      const again = await runCli(
        ['import', '--project', 'portable', '--owner', 'porter@example.test', '--in', file],
        target,
      );
      expectOneLineFailure(again);
      expect(again.stderr).toMatch(/refuses to overwrite/);
      fs.writeFileSync(file, lines.slice(1).join('\n'));
      const partial = await runCli(
        ['import', '--project', 'other', '--owner', 'porter@example.test', '--in', file],
        target,
      );
      expectOneLineFailure(partial);
      expect(partial.stderr).toMatch(/from seq 1/);
      fs.rmSync(file);
    } finally {
      await adminQuery(admin, `drop database if exists ${name} with (force)`);
    }
  });
});
