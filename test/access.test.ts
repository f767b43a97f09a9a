import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { callApi } from './helpers/agents.js';
import { useTestBaton } from './helpers/baton.js';
import {
  makeOwner,
  makeParticipation,
  makeProject,
  unique,
  type MadeOwner,
  type MadeProject,
} from './helpers/factories.js';
import { signIn, type WebClient } from './helpers/web.js';

// The six administrative acts have one implementation each (src/access). Performed through the
// admin tool and through the web form, each leaves the same event type with the same data
// shape; only `via` (and who acted) differs.

const baton = useTestBaton();

// One owner, signed in once; each test acts in a project of its own.
let owner: MadeOwner;
let web: WebClient;

interface Scene {
  project: MadeProject;
  adminToken: string;
}

async function scene(): Promise<Scene> {
  const project = await makeProject(baton.storage.db, { owner });
  const admin = await makeParticipation(baton.storage.db, { project, admin: true, token: true });
  return { project, adminToken: admin.token as string };
}

interface Row {
  seq: number;
  type: string;
  actor: string;
  participation_id: string | null;
  data: Record<string, unknown>;
}

async function lastEvent(s: Scene): Promise<Row> {
  const { rows } = await sql<Row>`
    select seq::int, type, actor, participation_id::text, data from events
    where project_id = ${s.project.id} order by seq desc limit 1`.execute(baton.storage.db);
  return rows[0] as Row;
}

async function viaTool(s: Scene, name: string, args: Record<string, unknown>): Promise<Row> {
  const r = await callApi(baton, s.adminToken, name, args);
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return lastEvent(s);
}

async function viaWeb(s: Scene, path: string, fields: Record<string, string> = {}): Promise<Row> {
  await web.get(`/admin/projects/${s.project.id}`);
  const r = await web.post(`/admin/projects/${s.project.id}${path}`, fields);
  expect([200, 303], r.text).toContain(r.status);
  return lastEvent(s);
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
  expect(form.actor).toBe(owner.handle);
}

/** Two participants with a token each, one for the tool to act on and one for the form. */
async function twoParticipants(s: Scene) {
  const make = () => makeParticipation(baton.storage.db, { project: s.project, token: true });
  return { tool: await make(), form: await make() };
}

beforeAll(async () => {
  owner = await makeOwner(baton.storage.db);
  web = await signIn(baton, owner.email);
});

describe('one implementation per administrative act', () => {
  it('provision: the tool and the grant form record the same event', async () => {
    const s = await scene();
    const [byTool, byForm] = [unique('p-tool'), unique('p-web')];
    const tool = await viaTool(s, 'admin_provision', {
      participant: byTool,
      lane: 'docs',
      ttl_days: 5,
    });
    const form = await viaWeb(s, '/grant', { participant: byForm, lane: 'docs', ttl_days: '5' });
    sameAct(tool, form, 'participant_provisioned');
    const actor = (label: string) => `${owner.handle}/${label}`;
    expect(form.data).toMatchObject({ participant: actor(byForm), lane: 'docs', kind: 'agent' });
    expect(tool.data).toMatchObject({ participant: actor(byTool), lane: 'docs', kind: 'agent' });
  });

  it('rotate: both edges can set the new token an expiry', async () => {
    const s = await scene();
    const p = await twoParticipants(s);
    const tool = await viaTool(s, 'admin_rotate', { participant: p.tool.label, ttl_days: 3 });
    const form = await viaWeb(s, `/participations/${p.form.id}/rotate`, { ttl_days: '3' });
    sameAct(tool, form, 'token_rotated');
    expect(typeof form.data.expires_at).toBe('string');
    expect(tool.data.revoked).toBe(1);
    expect(form.data.revoked).toBe(1);
  });

  it('revoke', async () => {
    const s = await scene();
    const p = await twoParticipants(s);
    const tool = await viaTool(s, 'admin_revoke', { participant: p.tool.label });
    const form = await viaWeb(s, `/participations/${p.form.id}/revoke`);
    sameAct(tool, form, 'tokens_revoked');
  });

  it('create invite: the same defaults (kind agent, one use, 24 hours) from both', async () => {
    const s = await scene();
    const tool = await viaTool(s, 'create_invite', { lane: 'docs' });
    const form = await viaWeb(s, '/invites', { lane: 'docs' });
    sameAct(tool, form, 'invite_created');
    for (const e of [tool, form]) {
      expect(e.data).toMatchObject({ kind: 'agent', uses: 1, lane: 'docs', is_admin: false });
    }
  });

  it('revoke invite', async () => {
    const s = await scene();
    const made = await callApi(baton, s.adminToken, 'create_invite', {});
    const code = made.body.code as string;
    const tool = await viaTool(s, 'revoke_invite', { code });
    const other = await viaTool(s, 'create_invite', {});
    const form = await viaWeb(s, `/invites/${other.data.invite_id as number}/revoke`);
    sameAct(tool, form, 'invite_revoked');
  });

  it('set the liveness window', async () => {
    const s = await scene();
    const tool = await viaTool(s, 'set_liveness_window', { seconds: 120 });
    const form = await viaWeb(s, '/liveness', { seconds: '150' });
    sameAct(tool, form, 'liveness_window_set');
    expect(form.data).toMatchObject({ seconds: 150, previous: 120 });
  });

  it('the command line grants through the same act, recorded as via cli', async () => {
    const s = await scene();
    await seedToken(baton.storage.db, {
      email: owner.email,
      projectSlug: s.project.slug,
      label: unique('p-cli'),
    });
    const cli = await lastEvent(s);
    expect(cli.type).toBe('participant_provisioned');
    expect(cli.data.via).toBe('cli');
    expect(cli.participation_id).toBeNull();
    expect(shape(cli.data)).toEqual(
      shape({ ...(await viaTool(s, 'admin_provision', { participant: unique('p-tool') })).data }),
    );
  });
});
