import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { callApi } from './helpers/agents.js';
import { useTestBaton } from './helpers/baton.js';
import { signIn, type WebClient } from './helpers/web.js';

// The six administrative acts have one implementation each (src/access). Performed through the
// admin tool and through the web form, each leaves the same event type with the same data
// shape; only `via` (and who acted) differs.

const baton = useTestBaton();

const OWNER = 'acts@example.test';
let web: WebClient;
let projectId: string;
let adminToken: string;

interface Row {
  seq: number;
  type: string;
  actor: string;
  participation_id: string | null;
  data: Record<string, unknown>;
}

async function lastEvent(): Promise<Row> {
  const { rows } = await sql<Row>`
    select seq::int, type, actor, participation_id::text, data from events
    where project_id = ${projectId} order by seq desc limit 1`.execute(baton.storage.db);
  return rows[0] as Row;
}

async function viaTool(name: string, args: Record<string, unknown>): Promise<Row> {
  const r = await callApi(baton, adminToken, name, args);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return lastEvent();
}

async function viaWeb(path: string, fields: Record<string, string> = {}): Promise<Row> {
  await web.get(`/admin/projects/${projectId}`);
  const r = await web.post(`/admin/projects/${projectId}${path}`, fields);
  expect([200, 303], r.text).toContain(r.status);
  return lastEvent();
}

const shape = (data: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(data)
      .filter(([k]) => k !== 'via')
      .map(([k, v]) => [k, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v])
      .sort(([a], [b]) => (a as string).localeCompare(b as string)),
  );

function sameAct(tool: Row, form: Row, type: string) {
  expect(tool.type).toBe(type);
  expect(form.type).toBe(type);
  expect(shape(form.data)).toEqual(shape(tool.data));
  expect(tool.data.via).toBe('mcp');
  expect(form.data.via).toBe('web');
  // The tool records the admin's participation; the owner acting on the web has none.
  expect(tool.participation_id).not.toBeNull();
  expect(form.participation_id).toBeNull();
  expect(form.actor).toBe('acts');
}

async function participationOf(label: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select pa.id::text from participations pa join participants p on p.id = pa.participant_id
    where pa.project_id = ${projectId} and p.label = ${label}`.execute(baton.storage.db);
  return rows[0]?.id as string;
}

beforeAll(async () => {
  const seeded = await seedToken(baton.storage.db, {
    email: OWNER,
    projectSlug: 'acts',
    label: 'admin-bot',
    admin: true,
  });
  adminToken = seeded.token;
  const { rows } = await sql<{ id: string }>`
    select pr.id::text from projects pr join owners o on o.id = pr.owner_id
    where o.email = ${OWNER} and pr.slug = 'acts'`.execute(baton.storage.db);
  projectId = rows[0]?.id as string;
  web = await signIn(baton, OWNER);
});

describe('one implementation per administrative act', () => {
  it('provision: the tool and the grant form record the same event', async () => {
    const tool = await viaTool('admin_provision', {
      participant: 'p-tool',
      lane: 'docs',
      ttl_days: 5,
    });
    const form = await viaWeb('/grant', { participant: 'p-web', lane: 'docs', ttl_days: '5' });
    sameAct(tool, form, 'participant_provisioned');
    expect(form.data).toMatchObject({ participant: 'acts/p-web', lane: 'docs', kind: 'agent' });
    expect(tool.data).toMatchObject({ participant: 'acts/p-tool', lane: 'docs', kind: 'agent' });
  });

  it('rotate: both edges can set the new token an expiry', async () => {
    const tool = await viaTool('admin_rotate', { participant: 'p-tool', ttl_days: 3 });
    const pa = await participationOf('p-web');
    const form = await viaWeb(`/participations/${pa}/rotate`, { ttl_days: '3' });
    sameAct(tool, form, 'token_rotated');
    expect(typeof form.data.expires_at).toBe('string');
    expect(tool.data.revoked).toBe(1);
    expect(form.data.revoked).toBe(1);
  });

  it('revoke', async () => {
    const tool = await viaTool('admin_revoke', { participant: 'p-tool' });
    const form = await viaWeb(`/participations/${await participationOf('p-web')}/revoke`);
    sameAct(tool, form, 'tokens_revoked');
  });

  it('create invite: the same defaults (kind agent, one use, 24 hours) from both', async () => {
    const tool = await viaTool('create_invite', { lane: 'docs' });
    const form = await viaWeb('/invites', { lane: 'docs' });
    sameAct(tool, form, 'invite_created');
    for (const e of [tool, form]) {
      expect(e.data).toMatchObject({ kind: 'agent', uses: 1, lane: 'docs', is_admin: false });
    }
  });

  it('revoke invite', async () => {
    const made = await callApi(baton, adminToken, 'create_invite', {});
    const code = made.body.code as string;
    const tool = await viaTool('revoke_invite', { code });
    const other = await viaTool('create_invite', {});
    const form = await viaWeb(`/invites/${other.data.invite_id as number}/revoke`);
    sameAct(tool, form, 'invite_revoked');
  });

  it('set the liveness window', async () => {
    const tool = await viaTool('set_liveness_window', { seconds: 120 });
    const form = await viaWeb('/liveness', { seconds: '150' });
    sameAct(tool, form, 'liveness_window_set');
    expect(form.data).toMatchObject({ seconds: 150, previous: 120 });
  });

  it('the command line grants through the same act, recorded as via cli', async () => {
    await seedToken(baton.storage.db, { email: OWNER, projectSlug: 'acts', label: 'p-cli' });
    const cli = await lastEvent();
    expect(cli.type).toBe('participant_provisioned');
    expect(cli.data.via).toBe('cli');
    expect(cli.participation_id).toBeNull();
    expect(shape(cli.data)).toEqual(
      shape({ ...(await viaTool('admin_provision', { participant: 'p-tool-2' })).data }),
    );
  });
});
