import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { getCatalogue } from '../src/main.js';
import { useTestBaton } from './helpers/baton.js';
import { foreignArgs, type JsonSchema } from './helpers/schema-args.js';

// The tenant-isolation matrix: every tool in the catalogue, called by an admin of project A with
// arguments aimed at project B's objects (B's ids, names, actors and lanes), must neither reveal
// B's content nor change B. Built from the catalogue, so a new tool is covered automatically.

const baton = useTestBaton({ env: { BATON_RATE_LIMIT: '0' } });
const tools = (
  JSON.parse(getCatalogue().listJson.full) as { tools: { name: string; inputSchema: JsonSchema }[] }
).tools;
const SECRET = 'SECRET-OF-B-7f3a9';

async function api(token: string, name: string, args: Record<string, unknown>) {
  const res = await fetch(`${baton.baseUrl}/api/v1/tools/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: res.status, text: await res.text() };
}

async function snapshot(projectId: string): Promise<string> {
  const q = (table: string) =>
    sql<{
      rows: string;
    }>`select coalesce(json_agg(t order by t)::text, '[]') as rows from ${sql.table(table)} t where project_id = ${projectId}`.execute(
      baton.storage.db,
    );
  const parts = await Promise.all(
    ['events', 'tasks', 'task_blockers', 'participations', 'tokens', 'invites', 'ledger_heads'].map(
      q,
    ),
  );
  return parts.map((p) => p.rows[0]?.rows).join('\n');
}

describe('tenant isolation', () => {
  it('no tool lets an admin of one project read or change another', async () => {
    const b = await baton.seed({
      email: 'bravo@b.test',
      projectSlug: 'secret-b',
      label: 'b-lead',
      admin: true,
    });
    const bWorker = await baton.seed({
      email: 'bravo@b.test',
      projectSlug: 'secret-b',
      label: 'b-worker',
    });
    const ids: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await api(b.token, 'task_create', {
        title: `${SECRET} task ${i}`,
        detail: `${SECRET} bravo b-lead`,
        lane: 'b-lane',
        owner: bWorker.actor,
      });
      ids.push((JSON.parse(t.text) as { task: { task_id: number } }).task.task_id);
    }
    const blocked = await api(b.token, 'task_block', {
      task_id: ids[0],
      on: ids[1],
      reason: SECRET,
    });
    ids.push((JSON.parse(blocked.text) as { blocker_id: number }).blocker_id);
    // Text of B that the matrix's searches (for B's names) would find, were tenancy broken.
    await api(b.token, 'post', {
      to_actor: bWorker.actor,
      subject: `${SECRET} bravo`,
      body: `${SECRET} b-lead b-worker b-lane bravo`,
      ref: 'b-lane',
    });
    await api(b.token, 'claim', { sequence: 'b-seq', note: `${SECRET} bravo`, ref: 'b-lead' });
    await api(b.token, 'lease', { surface: 'src/b/**', note: `${SECRET} bravo b-lead` });
    const invite = JSON.parse(
      (await api(b.token, 'create_invite', { participant: 'b-invitee', lane: 'b-lane' })).text,
    ) as { code: string };
    const inviteRow = await baton.storage.db
      .selectFrom('invites')
      .select('id')
      .orderBy('id', 'desc')
      .executeTakeFirstOrThrow();
    ids.push(Number(inviteRow.id));
    const projectB = (
      await baton.storage.db
        .selectFrom('projects')
        .select('id')
        .where('slug', '=', 'secret-b')
        .executeTakeFirstOrThrow()
    ).id;
    ids.push(Number(projectB));
    const names = [
      'b-lead',
      'b-worker',
      bWorker.actor,
      b.actor,
      'b-lane',
      invite.code,
      'bravo',
      'bravo@b.test',
    ];

    const a = await baton.seed({
      email: 'alpha@a.test',
      projectSlug: 'project-a',
      label: 'a-lead',
      admin: true,
    });
    await api(a.token, 'task_create', { title: 'a task of A' });
    const before = await snapshot(projectB);

    let calls = 0;
    for (const tool of tools) {
      for (const args of foreignArgs(tool.inputSchema, { ids, names })) {
        const r = await api(a.token, tool.name, args);
        calls++;
        expect(r.status, `${tool.name} ${JSON.stringify(args)}: ${r.text}`).not.toBe(500);
        expect(r.text, `${tool.name} leaked B's content`).not.toContain(SECRET);
        expect(r.text, `${tool.name} revealed B's project`).not.toContain('"secret-b"');
      }
    }
    expect(calls).toBeGreaterThan(tools.length);
    expect(await snapshot(projectB)).toBe(before);
    // B's tokens still work and B's invite is intact.
    expect((await api(b.token, 'whoami', {})).status).toBe(200);
    expect((await api(bWorker.token, 'whoami', {})).status).toBe(200);
  });
});
