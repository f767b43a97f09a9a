import { sql } from 'kysely';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTES } from '../src/admin/routes.js';
import { seedToken } from '../src/access/seed.js';
import { useTestBaton } from './helpers/baton.js';
import { signIn, WebClient } from './helpers/web.js';

// Tenancy and request forgery in the web admin (issue done-when 5): another owner's ids answer
// 404 on every page and form, forms need the session's CSRF token and our Origin, and no
// identity-looking header is worth anything.

const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

interface Owner {
  web: WebClient;
  ids: { project: string; participation: string; invite: string; participant: string };
  token: string;
}

async function ownerWithEverything(email: string, slug: string): Promise<Owner> {
  const seeded = await seedToken(baton.storage.db, {
    email,
    projectSlug: slug,
    label: `${slug}-agent`,
  });
  const web = await signIn(baton, email);
  const { rows } = await sql<{ project: string; participation: string; participant: string }>`
    select pr.id as project, pa.id as participation, p.id as participant
    from projects pr join participations pa on pa.project_id = pr.id
    join participants p on p.id = pa.participant_id
    where pr.slug = ${slug} and p.label = ${`${slug}-agent`}`.execute(baton.storage.db);
  const ids = rows[0] as { project: string; participation: string; participant: string };
  await web.get(`/admin/projects/${ids.project}`);
  const card = await web.post(`/admin/projects/${ids.project}/invites`, {
    kind: 'agent',
    uses: '2',
    ttl_hours: '24',
  });
  expect(card.status).toBe(200);
  const invite = await sql<{
    id: string;
  }>`select id from invites where project_id = ${ids.project}`.execute(baton.storage.db);
  return { web, ids: { ...ids, invite: invite.rows[0]?.id as string }, token: seeded.token };
}

/** Everything of A's that a successful foreign form could have changed. */
async function stateOf(o: Owner) {
  const { rows } = await sql`
    select (select row_to_json(p) from projects p where id = ${o.ids.project}) as project,
           (select last_seq from ledger_heads where project_id = ${o.ids.project}) as seq,
           (select json_agg(t order by id) from (select id, revoked_at from tokens
              where project_id = ${o.ids.project}) t) as tokens,
           (select json_agg(i order by id) from (select id, revoked_at, uses_left from invites
              where project_id = ${o.ids.project}) i) as invites,
           (select row_to_json(x) from participants x where id = ${o.ids.participant}) as participant,
           (select row_to_json(x) from participations x
              where project_id = ${o.ids.project} and id = ${o.ids.participation}) as participation
  `.execute(baton.storage.db);
  return JSON.stringify(rows[0]);
}

/** Fields that would pass each form's validation, so only ownership can refuse them. */
const VALID_FIELDS: Record<string, Record<string, string>> = {
  rename: { slug: 'taken-over', name: 'Taken over' },
  delete: { confirm: 'alpha' },
  grant: { participant: 'intruder' },
  rotate: {},
  revoke: {},
  admin: { is_admin: 'true' },
  invites: { kind: 'agent', uses: '1', ttl_hours: '1' },
  liveness: { seconds: '60' },
};

const fill = (path: string, ids: Record<string, string>) =>
  path.replace(/:([a-z]+)/g, (_, name: string) => {
    const id = ids[name];
    if (!id) throw new Error(`no id for :${name} in ${path}`);
    return id;
  });

let a: Owner;
let b: Owner;

beforeAll(async () => {
  a = await ownerWithEverything('a@example.test', 'alpha');
  b = await ownerWithEverything('b@example.test', 'beta');
});

describe("another owner's ids", () => {
  const withIds = ROUTES.filter((r) => r.path.includes(':'));

  it('covers every route that takes an id', () => {
    expect(withIds.length).toBeGreaterThanOrEqual(14);
    expect(withIds.map((r) => r.path)).toContain('/admin/projects/:project/board/events');
  });

  it("answer 404 for every page and form, and change nothing of the owner's", async () => {
    const before = await stateOf(a);
    for (const route of withIds) {
      const path = fill(route.path, a.ids);
      const action = route.path.split('/').at(-1) as string;
      const r =
        route.method === 'GET'
          ? await b.web.get(path)
          : await b.web.post(
              path,
              route.path.startsWith('/admin/participants/')
                ? { label: 'hijacked', confirm: 'alpha-agent' }
                : (VALID_FIELDS[action] ?? {}),
            );
      expect(r.status, `${route.method} ${route.path}`).toBe(404);
      expect(r.text, route.path).toContain('no such page, or it belongs to someone else');
      expect(r.text, route.path).not.toMatch(/alpha/i);
      // An empty form is refused the same way: ownership is decided before the form is read.
      if (route.method === 'POST') expect((await b.web.post(path)).status, route.path).toBe(404);
    }
    expect(await stateOf(a)).toBe(before);
  });

  it("answer 404 when mixed into the owner's own project path", async () => {
    const before = await stateOf(a);
    const mixed = { ...b.ids, participation: a.ids.participation, invite: a.ids.invite };
    for (const route of ROUTES.filter((r) => /:participation|:invite/.test(r.path))) {
      const r = await b.web.post(
        fill(route.path, mixed),
        VALID_FIELDS[route.path.split('/').at(-1) as string] ?? {},
      );
      expect(r.status, route.path).toBe(404);
    }
    expect(await stateOf(a)).toBe(before);
  });

  it('answer 404 for ids that do not exist at all, indistinguishably', async () => {
    const missing = await b.web.get('/admin/projects/999999999');
    const foreign = await b.web.get(`/admin/projects/${a.ids.project}`);
    expect(missing.status).toBe(404);
    expect(foreign.status).toBe(404);
    const strip = (t: string) => t.replace(/nonce="[^"]+"/g, '');
    expect(strip(foreign.text)).toBe(strip(missing.text));
    expect((await b.web.get('/admin/projects/abc')).status).toBe(404);
    expect((await b.web.get('/admin/projects/0')).status).toBe(404);
    expect((await b.web.get(`/admin/projects/${'9'.repeat(30)}`)).status).toBe(404);
  });
});

describe('forms', () => {
  const rename = () => `/admin/projects/${a.ids.project}/liveness`;

  it('are refused without the CSRF token, with a foreign one, or from another origin', async () => {
    const before = await stateOf(a);
    const cases: [string, Parameters<WebClient['post']>[2]][] = [
      ['no token', { csrf: null }],
      ['empty token', { csrf: '' }],
      ["another session's token", { csrf: b.web.csrf }],
      ['foreign Origin', { origin: 'https://evil.example' }],
      ['Origin null', { origin: 'null' }],
      ['no Origin or Referer', { origin: null }],
      ['foreign Referer', { origin: null, headers: { referer: 'https://evil.example/admin' } }],
    ];
    for (const [name, opts] of cases) {
      const r = await a.web.post(rename(), { seconds: '77' }, opts);
      expect(r.status, name).toBe(403);
      expect(r.text, name).toMatch(/Origin check|security token/);
    }
    expect(await stateOf(a)).toBe(before);
    // The same form from our own page passes, by Origin or (from browsers that omit it) Referer.
    const ok = await a.web.post(
      rename(),
      { seconds: '77' },
      { origin: null, headers: { referer: `${baton.baseUrl}/admin/projects/${a.ids.project}` } },
    );
    expect(ok.status).toBe(303);
    expect(await stateOf(a)).not.toBe(before);
  });

  it('never act on GET', async () => {
    const pages = new Set(ROUTES.filter((r) => r.method === 'GET').map((r) => r.path));
    const forms = ROUTES.filter((r) => r.method === 'POST' && !pages.has(r.path));
    expect(forms.length).toBeGreaterThan(10);
    const before = await stateOf(a);
    for (const route of forms) {
      const r = await a.web.get(fill(route.path, a.ids));
      expect(r.status, route.path).toBe(405);
      expect(r.headers.get('allow')).toBe('POST');
    }
    expect(await stateOf(a)).toBe(before);
  });

  it('refuse bodies that are not urlencoded or too large', async () => {
    const json = await fetch(`${baton.baseUrl}/admin/projects/${a.ids.project}/liveness`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        origin: baton.baseUrl,
        cookie: `baton_admin=${a.web.cookies.get('baton_admin')}`,
      },
      body: JSON.stringify({ seconds: 60, _csrf: a.web.csrf }),
    });
    expect(json.status).toBe(400);
    expect(await json.text()).toContain('application/x-www-form-urlencoded');
    const big = await a.web.post(`/admin/projects/${a.ids.project}/liveness`, {
      seconds: '60',
      pad: 'x'.repeat(270_000),
    });
    expect(big.status).toBe(400);
    expect(big.text).toContain('larger than 256 KiB');
  });
});

describe('identity headers', () => {
  const claims = () => ({
    'x-forwarded-user': 'a',
    'x-forwarded-email': 'a@example.test',
    'x-auth-request-email': 'a@example.test',
    'x-auth-request-user': 'a',
    'remote-user': 'a',
    'x-remote-user': 'a',
    'x-user': 'a',
    'x-email': 'a@example.test',
    'x-owner-id': '1',
    'x-baton-owner': 'a',
    'cf-access-authenticated-user-email': 'a@example.test',
    'x-goog-authenticated-user-email': 'accounts.google.com:a@example.test',
    'x-ms-client-principal-name': 'a@example.test',
    authorization: `Bearer ${a.token}`,
  });

  it('gain an anonymous request nothing', async () => {
    const anon = new WebClient(baton.baseUrl);
    for (const path of [
      '/admin/projects',
      `/admin/projects/${a.ids.project}`,
      `/admin/projects/${a.ids.project}/board`,
    ]) {
      const r = await anon.get(path, claims());
      expect(r.status, path).toBe(303);
      expect(r.location).toBe('/admin/login');
    }
    const stream = await anon.get(`/admin/projects/${a.ids.project}/board/events`, claims());
    expect(stream.status).toBe(401);
    const before = await stateOf(a);
    const form = await anon.post(
      `/admin/projects/${a.ids.project}/liveness`,
      { seconds: '99' },
      { headers: claims() },
    );
    expect(form.status).toBe(401);
    expect(await stateOf(a)).toBe(before);
  });

  it("gain a signed-in owner nothing of another owner's", async () => {
    const projects = await b.web.get('/admin/projects', claims());
    expect(projects.status).toBe(200);
    expect(projects.text).toContain('Signed in as owner-b.');
    expect(projects.text).not.toContain('alpha');
    expect((await b.web.get(`/admin/projects/${a.ids.project}`, claims())).status).toBe(404);
  });
});
