import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { call, startTestBaton } from './helpers/baton.js';
import { useTestDatabase } from './helpers/db.js';
import { runCli } from './helpers/process.js';

const t = useTestDatabase();

async function table(name: string, order: string) {
  const { rows } = await sql<{
    rows: string;
  }>`select coalesce(json_agg(x order by ${sql.raw(order)})::text, '[]') as rows from ${sql.table(name)} x`.execute(
    t.db,
  );
  return JSON.parse(rows[0]?.rows ?? '[]') as Record<string, any>[];
}

describe('baton prune', () => {
  it('removes what it promises and nothing else; the ledger is untouched', async () => {
    const baton = await startTestBaton({ database: { url: t.url } });
    const codes: Record<string, string> = {};
    try {
      const admin = await baton.seed({ projectSlug: 'retention', label: 'admin', admin: true });
      const idle = await baton.seed({ projectSlug: 'retention', label: 'idle' });
      const a = await baton.connect(admin.token);
      const i = await baton.connect(idle.token);
      for (const surface of ['live.md', 'recent.md', 'ancient.md'])
        await call(a, 'lease', { surface });
      await call(i, 'register', { lane: 'docs', status: 'writing the guide' });
      await call(a, 'register', { lane: 'ops', status: 'on call' });
      for (const k of [
        'live',
        'used-old',
        'used-new',
        'revoked-old',
        'revoked-new',
        'expired-old',
        'expired-new',
      ]) {
        codes[k] = ((await call(a, 'create_invite', {})).body as any).code;
      }
      await call(a, 'task_create', { title: 'history stays' });
      await call(a, 'claim', { sequence: 'adr' });
      await call(a, 'post', { broadcast: true, body: 'history stays too' });
    } finally {
      await baton.close();
    }
    const db = t.db;
    // Time travel, in SQL.
    await sql`update leases set expires_at = now() - interval '2 hours' where surface = 'recent.md'`.execute(
      db,
    );
    await sql`update leases set expires_at = now() - interval '3 days' where surface = 'ancient.md'`.execute(
      db,
    );
    await sql`update participations set last_seen_at = now() - interval '40 days'
      where participant_id = (select id from participants where label = 'idle')`.execute(db);
    const inv = (k: string, set: string) =>
      sql`update invites set ${sql.raw(set)} where code_hash = sha256(${codes[k]}::bytea)`.execute(
        db,
      );
    await inv('used-old', "uses_left = 0, created_at = now() - interval '10 days'");
    await inv('used-new', 'uses_left = 0');
    await inv('revoked-old', "revoked_at = now() - interval '8 days'");
    await inv('revoked-new', 'revoked_at = now()');
    await inv(
      'expired-old',
      "expires_at = now() - interval '9 days', created_at = now() - interval '10 days'",
    );
    await inv('expired-new', "expires_at = now() - interval '1 day'");
    await sql`insert into mcp_sessions (project_id, id, participation_id, protocol_version, last_seen_at, closed_at)
      select project_id, 'closed-long-ago-0001', id, '2025-06-18', now() - interval '9 days', now() - interval '9 days'
      from participations limit 1`.execute(db);
    await sql`insert into mcp_sessions (project_id, id, participation_id, protocol_version, last_seen_at)
      select project_id, 'idle-for-ages-00001', id, '2025-06-18', now() - interval '8 days' from participations limit 1`.execute(
      db,
    );
    await sql`insert into mcp_sessions (project_id, id, participation_id, protocol_version)
      select project_id, 'fresh-session-00001', id, '2025-06-18' from participations limit 1`.execute(
      db,
    );

    const history = async () => ({
      events: await table('events', 'project_id, seq'),
      heads: await table('ledger_heads', 'project_id'),
      claims: await table('claims', 'project_id, sequence, number'),
      posts: await table('posts', 'id'),
      tasks: await table('tasks', 'id'),
      participants: await table('participants', 'id'),
      tokens: await table('tokens', 'id'),
    });
    const before = await history();
    const env = { DATABASE_URL: t.url, LOG_LEVEL: 'silent' };

    const dry = await runCli(['prune', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toBe(
      'would remove: 1 expired lease(s), 1 stale status line(s), 3 finished invite(s), 2 idle session(s)\n',
    );
    expect((await table('leases', 'id')).length).toBe(3);

    const real = await runCli(['prune'], env);
    expect(real.stdout).toBe(
      'removed: 1 expired lease(s), 1 stale status line(s), 3 finished invite(s), 2 idle session(s)\n',
    );
    expect((await table('leases', 'id')).map((l) => l.surface).sort()).toEqual([
      'live.md',
      'recent.md',
    ]);
    const people = await sql<{ label: string; lane: string; status: string | null }>`
      select p.label, pa.lane, pa.status from participations pa join participants p on p.id = pa.participant_id order by p.label`.execute(
      db,
    );
    expect(people.rows).toEqual([
      { label: 'admin', lane: 'ops', status: 'on call' },
      { label: 'idle', lane: 'docs', status: null },
    ]);
    const invites = await sql<{ n: number }>`select count(*)::int as n from invites`.execute(db);
    expect(invites.rows[0]?.n).toBe(4);
    for (const k of ['used-old', 'revoked-old', 'expired-old']) {
      const left =
        await sql`select 1 from invites where code_hash = sha256(${codes[k]}::bytea)`.execute(db);
      expect(left.rows, k).toHaveLength(0);
    }
    const sessions = (await table('mcp_sessions', 'id')).map((s) => s.id);
    expect(sessions).toContain('fresh-session-00001');
    expect(sessions).not.toContain('closed-long-ago-0001');
    expect(sessions).not.toContain('idle-for-ages-00001');
    expect(await history()).toEqual(before);

    expect((await runCli(['prune'], env)).stdout).toMatch(
      /removed: 0 expired lease\(s\), 0 stale status line\(s\), 0 finished invite\(s\), 0 idle session\(s\)/,
    );
    const bad = await runCli(['prune', '--invite-days', 'soon'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--invite-days takes a whole number/);
  });

  it('the background job runs the same pass on its interval', async () => {
    const { startPruneJob } = await import('../src/db/prune.js');
    const baton = await startTestBaton({ database: { url: t.url } });
    try {
      const s = await baton.seed({ projectSlug: 'job', label: 'w' });
      await call(await baton.connect(s.token), 'lease', { surface: 'job.md' });
    } finally {
      await baton.close();
    }
    await sql`update leases set expires_at = now() - interval '3 days' where surface = 'job.md'`.execute(
      t.db,
    );
    const logged: object[] = [];
    const stop = startPruneJob(t.db, 0.0001, {
      info: (o) => logged.push(o),
      warn: (o) => logged.push(o),
    });
    try {
      await expect
        .poll(async () => (await table('leases', 'id')).some((l) => l.surface === 'job.md'), {
          timeout: 5000,
        })
        .toBe(false);
      expect(logged[0]).toMatchObject({ pruned: { expired_leases: 1 } });
    } finally {
      stop();
    }
  });

  it('export --trim keeps the events in the file and takes them out of the ledger', async () => {
    const baton = await startTestBaton({ database: { url: t.url } });
    try {
      const s = await baton.seed({
        email: 'trim@example.test',
        projectSlug: 'trimmed',
        label: 'w',
      });
      const c = await baton.connect(s.token);
      for (let k = 0; k < 5; k++) await call(c, 'claim', { sequence: 'x' });
    } finally {
      await baton.close();
    }
    const env = { DATABASE_URL: t.url, LOG_LEVEL: 'silent' };
    const file = `/tmp/baton-trim-${process.pid}.jsonl`;
    const { default: fs } = await import('node:fs');
    fs.rmSync(file, { force: true });
    expect((await runCli(['export', '--project', 'trimmed', '--trim'], env)).stderr).toMatch(
      /--trim needs --out/,
    );
    const r = await runCli(['export', '--project', 'trimmed', '--out', file, '--trim'], env);
    expect(r.stderr).toMatch(/exported 6 event\(s\).*\n.*trimmed 6 event\(s\) through seq 6/s);
    expect(fs.readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(6);
    expect((await runCli(['export', '--project', 'trimmed'], env)).stdout).toBe('');
    const again = await runCli(['export', '--project', 'trimmed', '--out', file], env);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/EEXIST|exists/);
    fs.rmSync(file, { force: true });
  });
});
