import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { appendEvents } from '../src/db/ledger.js';
import { rawEvents } from './helpers/events.js';
import { transact } from '../src/db/pool.js';
import { callApi } from './helpers/agents.js';
import { useTestBaton } from './helpers/baton.js';
import { readSse } from './helpers/sse.js';
import { signIn, visibleText, type WebClient } from './helpers/web.js';

// What an owner does in the web admin, end to end through the real server: projects,
// participants, tokens, invites, the liveness window and the ledger. Each act lands in the
// project's ledger under the owner's handle and never with a secret.

const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

async function events(projectId: string) {
  const { rows } = await sql<{
    type: string;
    actor: string;
    task_id: string | null;
    data: Record<string, any>;
  }>`
    select type, actor, task_id, data from events where project_id = ${projectId} order by seq`.execute(
    baton.storage.db,
  );
  return rows;
}

async function createProject(web: WebClient, slug: string, name = slug): Promise<string> {
  await web.get('/admin/projects');
  const r = await web.post('/admin/projects', { slug, name });
  expect(r.status, r.text).toBe(303);
  const id = /^\/admin\/projects\/(\d+)\?done=project-created$/.exec(r.location ?? '')?.[1];
  expect(id).toBeTruthy();
  return id as string;
}

const tokenOnCard = (page: string) =>
  /<pre class="secret" id="token">(baton_[\w-]{43})<\/pre>/.exec(page)?.[1];

async function participationId(projectId: string, label: string): Promise<string> {
  const { rows } = await sql<{ id: string }>`
    select pa.id from participations pa join participants p on p.id = pa.participant_id
    where pa.project_id = ${projectId} and p.label = ${label}`.execute(baton.storage.db);
  return rows[0]?.id as string;
}

describe('projects', () => {
  it('creates, refuses bad or duplicate slugs with the reason, renames and deletes with confirmation', async () => {
    const web = await signIn(baton, 'projects@example.test');
    const id = await createProject(web, 'shop', 'Shop');
    const page = await web.get(`/admin/projects/${id}?done=project-created`);
    expect(page.text).toContain('<h1 id="project-name">Shop</h1>');
    expect(page.text).toContain('Project created.');

    const bad = await web.post('/admin/projects', { slug: 'Not A Slug', name: 'x' });
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('Slug: a slug is 1–64 characters of a-z, 0-9 and -');
    const long = await web.post('/admin/projects', { slug: 'ok', name: 'n'.repeat(201) });
    expect(long.status).toBe(400);
    expect(visibleText(long.text)).toContain('Name: must be at most 200 characters');
    const dup = await web.post('/admin/projects', { slug: 'shop', name: 'Again' });
    expect(dup.status).toBe(409);
    expect(visibleText(dup.text)).toContain('you already have a project with the slug "shop"');

    await web.get(`/admin/projects/${id}`);
    const renamed = await web.post(`/admin/projects/${id}/rename`, {
      slug: 'store',
      name: 'The Store',
    });
    expect(renamed.status).toBe(303);
    expect((await web.follow(renamed)).text).toContain('<h1 id="project-name">The Store</h1>');
    expect((await events(id)).map((e) => e.type)).toEqual(['project_created', 'project_renamed']);
    expect((await events(id))[1]).toMatchObject({
      actor: 'projects',
      data: { from: { slug: 'shop', name: 'Shop' }, to: { slug: 'store', name: 'The Store' } },
    });

    // Deletion needs the slug typed, and takes the project's tokens with it.
    const agent = await seedToken(baton.storage.db, {
      email: 'projects@example.test',
      projectSlug: 'store',
      label: 'bot',
    });
    expect((await callApi(baton, agent.token, 'whoami')).status).toBe(200);
    const unconfirmed = await web.post(`/admin/projects/${id}/delete`, { confirm: 'shop' });
    expect(unconfirmed.status).toBe(400);
    expect(visibleText(unconfirmed.text)).toContain("type the project's slug (store) to confirm");
    const deleted = await web.post(`/admin/projects/${id}/delete`, { confirm: 'store' });
    expect(deleted.status).toBe(303);
    expect((await web.follow(deleted)).text).toContain('Project deleted, with its ledger.');
    expect((await web.get(`/admin/projects/${id}`)).status).toBe(404);
    expect((await callApi(baton, agent.token, 'whoami')).status).toBe(401);
  });
});

describe('tokens', () => {
  it('grants with a hand-out card whose token works, rotates mint-before-revoke, revokes, sets admin', async () => {
    const web = await signIn(baton, 'tokens@example.test');
    const id = await createProject(web, 'tok');
    await web.get(`/admin/projects/${id}`);
    const grant = await web.post(`/admin/projects/${id}/grant`, {
      participant: 'claude-1',
      lane: 'api',
      ttl_days: '30',
    });
    expect(grant.status).toBe(200);
    expect(grant.headers.get('cache-control')).toBe('no-store');
    const token = tokenOnCard(grant.text) as string;
    expect(token).toBeTruthy();
    expect(grant.text).toContain(
      `claude mcp add --transport http baton ${baton.baseUrl}/mcp --header &quot;Authorization: Bearer ${token}&quot;`,
    );
    expect(grant.text).toContain(`BATON_TOKEN=${token}`);
    const me = await callApi(baton, token, 'whoami');
    expect(me.body).toMatchObject({
      actor: 'tokens/claude-1',
      project: 'tok',
      lane: 'api',
      is_admin: false,
    });

    const pa = await participationId(id, 'claude-1');
    const page = await web.get(`/admin/projects/${id}`);
    expect(page.text).not.toContain(token);
    expect(visibleText(page.text)).toMatch(/tokens\/claude-1 agent api .* 1 live/);

    const admin = await web.post(`/admin/projects/${id}/participations/${pa}/admin`, {
      is_admin: 'true',
    });
    expect(admin.status).toBe(303);
    expect((await callApi(baton, token, 'whoami')).body.is_admin).toBe(true);
    expect((await web.follow(admin)).text).toContain('Remove admin');

    const rotated = await web.post(`/admin/projects/${id}/participations/${pa}/rotate`);
    expect(rotated.status).toBe(200);
    const next = tokenOnCard(rotated.text) as string;
    expect(next).not.toBe(token);
    expect(visibleText(rotated.text)).toContain('The previous token stops working now.');
    expect((await callApi(baton, token, 'whoami')).status).toBe(401);
    expect((await callApi(baton, next, 'whoami')).status).toBe(200);

    const revoked = await web.post(`/admin/projects/${id}/participations/${pa}/revoke`);
    expect(revoked.status).toBe(303);
    expect((await web.follow(revoked)).text).toContain('Tokens revoked');
    expect((await callApi(baton, next, 'whoami')).status).toBe(401);

    const log = await events(id);
    expect(log.map((e) => e.type)).toEqual([
      'project_created',
      'participant_provisioned',
      'participant_updated',
      'token_rotated',
      'tokens_revoked',
    ]);
    for (const e of log.slice(1)) {
      expect(e.actor).toBe('tokens');
      expect(e.data).toMatchObject({ participant: 'tokens/claude-1', via: 'web' });
    }
    const text = JSON.stringify(log);
    for (const secret of [token, next]) expect(text).not.toContain(secret.slice(6));
  });

  it('refuses bad grant input with the reason and grants nothing', async () => {
    const web = await signIn(baton, 'badgrant@example.test');
    const id = await createProject(web, 'bad');
    await web.get(`/admin/projects/${id}`);
    const cases: [Record<string, string>, string][] = [
      [{ participant: '' }, 'Participant: a label needs at least 1 character'],
      [{ participant: 'a/b' }, 'Participant: a label is printable characters without "/"'],
      [{ participant: 'ok', lane: 'Bad Lane' }, 'Lane: a lane is 1–64 characters'],
      [{ participant: 'ok', ttl_days: 'soon' }, 'Expires in days: must be a whole number'],
      [{ participant: 'ok', ttl_days: '0' }, 'Expires in days: must be at least 1'],
      [{ participant: 'ok', kind: 'robot' }, 'Kind: choose agent or human'],
    ];
    for (const [form, reason] of cases) {
      const r = await web.post(`/admin/projects/${id}/grant`, form);
      expect(r.status, reason).toBe(400);
      expect(visibleText(r.text), reason).toContain(reason);
    }
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from tokens where project_id = ${id}`.execute(baton.storage.db);
    expect(rows[0]?.n).toBe(0);
  });
});

describe('invites and settings', () => {
  it('creates an invite whose code redeems at /join once, and revokes another', async () => {
    const web = await signIn(baton, 'invites@example.test');
    const id = await createProject(web, 'inv');
    await web.get(`/admin/projects/${id}`);
    const card = await web.post(`/admin/projects/${id}/invites`, {
      participant: 'newbie',
      kind: 'human',
      uses: '1',
      ttl_hours: '2',
      lane: 'docs',
    });
    expect(card.status).toBe(200);
    const code = /id="invite-code">(baton_inv_[\w-]{43})</.exec(card.text)?.[1] as string;
    expect(code).toBeTruthy();
    const join = await fetch(`${baton.baseUrl}/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code }),
    });
    expect(join.status).toBe(200);
    const joined = (await join.json()) as { actor: string; token: string };
    expect(joined.actor).toBe('invites/newbie');
    expect((await callApi(baton, joined.token, 'whoami')).body).toMatchObject({
      kind: 'human',
      lane: 'docs',
    });

    await web.post(`/admin/projects/${id}/invites`, { kind: 'agent', uses: '3', ttl_hours: '24' });
    const { rows } = await sql<{
      id: string;
    }>`select id from invites where project_id = ${id} and uses_left = 3`.execute(baton.storage.db);
    const revoked = await web.post(`/admin/projects/${id}/invites/${rows[0]?.id}/revoke`);
    expect(revoked.status).toBe(303);
    const page = await web.follow(revoked);
    expect(page.text).toContain('Invite revoked.');
    expect(visibleText(page.text)).toMatch(/#\d+ their choice agent — 3 of 3 left revoked/);
    // A repeated revoke changes nothing and says so.
    const again = await web.post(`/admin/projects/${id}/invites/${rows[0]?.id}/revoke`);
    expect(again.location).toMatch(/done=invite-already-revoked/);
    expect((await web.follow(again)).text).toContain('That invite was already revoked');
    expect(
      (
        await web.post(`/admin/projects/${id}/invites`, {
          kind: 'agent',
          uses: '0',
          ttl_hours: '1',
        })
      ).status,
    ).toBe(400);
  });

  it('sets the liveness window within its bounds', async () => {
    const web = await signIn(baton, 'window@example.test');
    const id = await createProject(web, 'win');
    await web.get(`/admin/projects/${id}`);
    expect((await web.post(`/admin/projects/${id}/liveness`, { seconds: '120' })).status).toBe(303);
    const tooShort = await web.post(`/admin/projects/${id}/liveness`, { seconds: '5' });
    expect(tooShort.status).toBe(400);
    expect(visibleText(tooShort.text)).toContain('Liveness window: must be at least 10');
    const { rows } = await sql<{
      s: number;
    }>`select liveness_window_seconds as s from projects where id = ${id}`.execute(
      baton.storage.db,
    );
    expect(rows[0]?.s).toBe(120);
    expect((await events(id)).at(-1)).toMatchObject({
      type: 'liveness_window_set',
      data: { seconds: 120, previous: 900 },
    });
  });
});

describe('participants', () => {
  it('create, rename and delete keep history: the ledger keeps the names that acted', async () => {
    const web = await signIn(baton, 'people@example.test');
    const id = await createProject(web, 'ppl');
    await web.get('/admin/participants');
    const created = await web.post('/admin/participants', { label: 'scout', kind: 'agent' });
    expect(created.status).toBe(303);
    const participant = /\/admin\/participants\/(\d+)/.exec(created.location ?? '')?.[1] as string;
    expect((await web.post('/admin/participants', { label: 'scout', kind: 'agent' })).status).toBe(
      409,
    );

    // It takes part, acts, holds a lease and a task.
    await web.get(`/admin/projects/${id}`);
    const token = tokenOnCard(
      (await web.post(`/admin/projects/${id}/grant`, { participant: 'scout' })).text,
    ) as string;
    expect((await callApi(baton, token, 'lease', { surface: 'docs/**' })).status).toBe(200);
    const task = await callApi(baton, token, 'task_create', { title: 'Map the docs' });
    expect(
      (await callApi(baton, token, 'task_start', { task_id: task.body.task.task_id })).status,
    ).toBe(200);

    await web.get(`/admin/participants/${participant}`);
    const renamed = await web.post(`/admin/participants/${participant}/rename`, {
      label: 'ranger',
    });
    expect(renamed.status).toBe(303);
    expect((await web.follow(renamed)).text).toContain(
      '<h1 id="participant-name">people/ranger</h1>',
    );
    expect((await callApi(baton, token, 'whoami')).body.actor).toBe('people/ranger');
    expect((await callApi(baton, token, 'who_holds')).body.leases[0]).toMatchObject({
      actor: 'people/ranger',
    });

    const unconfirmed = await web.post(`/admin/participants/${participant}/delete`, {
      confirm: 'scout',
    });
    expect(unconfirmed.status).toBe(400);
    const deleted = await web.post(`/admin/participants/${participant}/delete`, {
      confirm: 'ranger',
    });
    expect(deleted.status).toBe(303);
    expect((await web.follow(deleted)).text).toContain('its history stays in the ledger');
    expect((await callApi(baton, token, 'whoami')).status).toBe(401);
    expect((await web.get(`/admin/participants/${participant}`)).status).toBe(404);

    const log = await events(id);
    const acts = log.filter((e) => e.actor.startsWith('people/'));
    expect(acts.map((e) => [e.type, e.actor])).toEqual([
      ['lease', 'people/scout'],
      ['task_created', 'people/scout'],
      ['task_started', 'people/scout'],
    ]);
    expect(log.slice(-3).map((e) => e.type)).toEqual([
      'participant_renamed',
      'task_reclaimed',
      'participant_deleted',
    ]);
    expect(log.at(-3)?.data).toMatchObject({ from: 'people/scout', to: 'people/ranger' });
    expect(log.at(-1)?.data).toMatchObject({
      participant: 'people/ranger',
      tokens_revoked: 1,
      leases_ended: 1,
      tasks_returned: [Number(task.body.task.task_id)],
    });
    const { rows } = await sql<{ status: string; owner: string | null }>`
      select status, owner_participation_id as owner from tasks where project_id = ${id}`.execute(
      baton.storage.db,
    );
    expect(rows).toEqual([{ status: 'open', owner: null }]);
    // The ledger page still shows what the deleted participant did, under its name then.
    const ledger = await web.get(`/admin/projects/${id}/ledger?actor=people%2Fscout`);
    expect(ledger.status).toBe(200);
    expect(ledger.text.match(/<tr data-seq=/g)).toHaveLength(3);
  });
});

describe('the ledger page', () => {
  it('filters by type, actor and task, pages by seq, and refuses a bad filter with the reason', async () => {
    const web = await signIn(baton, 'ledger@example.test');
    const id = await createProject(web, 'led');
    const agent = await seedToken(baton.storage.db, {
      email: 'ledger@example.test',
      projectSlug: 'led',
      label: 'writer',
    });
    // A few real acts, then enough ledger to need a second page, appended in one statement.
    const task = await callApi(baton, agent.token, 'task_create', { title: 'Index the ledger' });
    for (let i = 0; i < 5; i++) await callApi(baton, agent.token, 'claim', { sequence: 'adr' });
    await transact(baton.storage.db, (trx) =>
      appendEvents(
        trx,
        id,
        rawEvents(
          Array.from({ length: 100 }, (_, i) => ({
            type: 'claim',
            actor: agent.actor,
            sequence: 'imported',
            data: { number: i + 1 },
          })),
        ),
      ),
    );
    const all = await web.get(`/admin/projects/${id}/ledger`);
    expect(all.text.match(/<tr data-seq=/g)).toHaveLength(100);
    const older = /id="older" href="([^"]+)"/.exec(all.text)?.[1]?.replace(/&amp;/g, '&') as string;
    expect(older).toMatch(/\?before=\d+$/);
    const second = await web.get(older);
    expect(second.text.match(/<tr data-seq=/g)).toHaveLength(8); // 3 events + 5 claims left
    expect(second.text.match(/>adr<\/a>/g)).toHaveLength(5);
    const claims = await web.get(`/admin/projects/${id}/ledger?type=participant_provisioned`);
    expect(claims.text.match(/<tr data-seq=/g)).toHaveLength(1);
    const byActor = await web.get(`/admin/projects/${id}/ledger?actor=ledger`);
    expect(visibleText(byActor.text)).toContain('project_created');
    expect(byActor.text.match(/<tr data-seq=/g)).toHaveLength(2);
    const byTask = await web.get(`/admin/projects/${id}/ledger?task=${task.body.task.task_id}`);
    expect(byTask.text.match(/<tr data-seq=/g)).toHaveLength(1);
    expect(visibleText(byTask.text)).toContain('Index the ledger');
    const bad = await web.get(`/admin/projects/${id}/ledger?type=Not%20A%20Type`);
    expect(bad.status).toBe(400);
    expect(visibleText(bad.text)).toContain('Type: an event type, e.g. task_shipped');
    // A bare label matches no actor: refused as query_events refuses it, with what it may mean.
    const label = await web.get(`/admin/projects/${id}/ledger?actor=writer`);
    expect(label.status).toBe(400);
    expect(visibleText(label.text)).toContain(`did you mean ${agent.actor}?`);
  });
});

describe('the board over HTTP', () => {
  it('draws the task graph with its edges and streams updates when the ledger moves', async () => {
    const web = await signIn(baton, 'board@example.test');
    const id = await createProject(web, 'brd');
    const agent = await seedToken(baton.storage.db, {
      email: 'board@example.test',
      projectSlug: 'brd',
      label: 'planner',
    });
    const first = await callApi(baton, agent.token, 'task_create', { title: 'Design schema' });
    const second = await callApi(baton, agent.token, 'task_create', {
      title: 'Write migration',
      depends_on: [first.body.task.task_id],
    });
    const board = await web.get(`/admin/projects/${id}/board`);
    expect(board.status).toBe(200);
    const edge = `data-from="${first.body.task.task_id}"\\s+data-to="${second.body.task.task_id}"`;
    expect(board.text).toMatch(new RegExp(edge));
    expect(board.headers.get('content-security-policy')).toMatch(/script-src 'nonce-[^']+'/);

    const cookie = `baton_admin=${web.cookies.get('baton_admin')}`;
    const head = await fetch(`${baton.baseUrl}/admin/projects/${id}/board/events`, {
      method: 'HEAD',
      headers: { cookie },
    });
    expect(head.status).toBe(405); // a stream answered to HEAD would never end

    const stream = await readSse(`${baton.baseUrl}/admin/projects/${id}/board/events`, {
      cookie: `baton_admin=${web.cookies.get('baton_admin')}`,
    });
    expect(stream.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const nextBoard = async () =>
      JSON.parse((await stream.next('board')).data) as {
        seq: string;
        sections: Record<string, string>;
      };
    const snapshot = await nextBoard();
    expect(Object.keys(snapshot.sections).sort()).toEqual([
      'events',
      'leases',
      'posts',
      'presence',
      'tasks',
    ]);
    await callApi(baton, agent.token, 'post', {
      broadcast: true,
      subject: 'Schema ready',
      body: 'Go ahead.',
    });
    const update = await nextBoard();
    expect(Number(update.seq)).toBeGreaterThan(Number(snapshot.seq));
    expect(update.sections.posts).toContain('Schema ready');
    expect(update.sections.events).toContain('data-type="post"');
    expect(update.sections.tasks).toBeUndefined(); // only what changed is sent
    stream.close();
  });
});
