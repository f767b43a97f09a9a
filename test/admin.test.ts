import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { notifyAccessChanged } from '../src/db/ledger.js';
import { openStorage, transact } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { TOOLS } from '../src/tools/index.js';
import { call, startTestBaton, useTestBaton } from './helpers/baton.js';

// Trust 127.0.0.1 as a proxy so tests can act as many client addresses on /join.
const baton = useTestBaton({ env: { TRUST_PROXY: '127.0.0.1/32' } });

const sha = (s: string) => createHash('sha256').update(s).digest();

async function api(token: string, name: string, args: Record<string, unknown> = {}) {
  const res = await fetch(`${baton.baseUrl}/api/v1/tools/${name}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

async function join(body: unknown, from = '203.0.113.1', base = baton.baseUrl) {
  const res = await fetch(`${base}/join`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    headers: res.headers,
    body: (await res.json()) as Record<string, any>,
  };
}

const ADMIN_TOOLS = TOOLS.filter((t) => t.admin).map((t) => t.name);

describe('admin rights', () => {
  it('refuses every admin tool to a non-admin with forbidden', async () => {
    expect(ADMIN_TOOLS).toEqual(
      expect.arrayContaining([
        'admin_provision',
        'admin_rotate',
        'admin_revoke',
        'create_invite',
        'revoke_invite',
      ]),
    );
    const member = await baton.seed({ projectSlug: 'rights', label: 'member' });
    const client = await baton.connect(member.token);
    for (const name of ADMIN_TOOLS) {
      // Valid arguments, so that the refusal is about rights and not about input.
      const args: Record<string, unknown> =
        name === 'revoke_invite'
          ? { invite_id: 1 }
          : name === 'set_liveness_window'
            ? { seconds: 900 }
            : name.startsWith('admin_')
              ? { participant: 'x' }
              : {};
      const r = await call(client, name, args);
      expect(r.isError, name).toBe(true);
      expect((r.body.error as { code: string }).code, name).toBe('forbidden');
    }
  });

  it('keeps an admin of one project out of every other project', async () => {
    const adminA = await baton.seed({
      email: 'a@example.test',
      projectSlug: 'proj-a',
      label: 'boss',
      admin: true,
    });
    const victim = await baton.seed({
      email: 'b@example.test',
      projectSlug: 'proj-b',
      label: 'victim',
      admin: true,
    });
    // The same owner's other project is just as closed.
    const sibling = await baton.seed({
      email: 'a@example.test',
      projectSlug: 'proj-a2',
      label: 'sibling',
    });
    for (const target of ['victim', 'sibling']) {
      for (const tool of ['admin_rotate', 'admin_revoke']) {
        const r = await api(adminA.token, tool, { participant: target });
        expect(r.status, `${tool} ${target}`).toBe(404);
        expect(JSON.stringify(r.body)).not.toMatch(/proj-b|proj-a2/);
      }
    }
    // Provisioning the name creates a participant of A's owner in A; B's victim is untouched.
    const p = await api(adminA.token, 'admin_provision', { participant: 'victim' });
    expect(p.status).toBe(200);
    expect(p.body.actor).toBe('owner-a/victim');
    expect((await api(victim.token, 'whoami')).body).toMatchObject({
      actor: 'owner-b/victim',
      project: 'proj-b',
    });
    expect((await api(sibling.token, 'whoami')).status).toBe(200);
  });
});

describe('provisioning and rotation', () => {
  it('provisions a participant whose token works, with a set-up block, and keeps existing tokens', async () => {
    const admin = await baton.seed({ projectSlug: 'prov', label: 'lead', admin: true });
    const r = await api(admin.token, 'admin_provision', {
      participant: 'claude-7',
      lane: 'docs',
      kind: 'agent',
    });
    expect(r.status).toBe(200);
    expect(r.body.setup).toMatchObject({
      mcp_url: baton.mcpUrl,
      env: { BATON_TOKEN: r.body.token },
    });
    expect(r.body.setup.claude_mcp_add).toContain(r.body.token);
    expect((await api(r.body.token, 'whoami')).body).toMatchObject({
      actor: 'owner/claude-7',
      lane: 'docs',
      is_admin: false,
    });
    const again = await api(admin.token, 'admin_provision', {
      participant: 'claude-7',
      is_admin: true,
    });
    expect((await api(r.body.token, 'whoami')).body.is_admin).toBe(true);
    expect((await api(again.body.token, 'whoami')).status).toBe(200);
    const bad = await api(admin.token, 'admin_provision', {
      participant: 'claude-7',
      kind: 'human',
    });
    expect(bad.status).toBe(409);
  });

  it('rotation: the old token fails next, the new works, and there is never a moment with no valid token', async () => {
    const admin1 = await baton.seed({ projectSlug: 'rot', label: 'admin-1', admin: true });
    const admin2 = await baton.seed({ projectSlug: 'rot', label: 'admin-2', admin: true });
    const target = await api(admin1.token, 'admin_provision', { participant: 'rotated' });
    const participation = await baton.storage.db
      .selectFrom('tokens')
      .select(['participation_id', 'project_id'])
      .where('token_hash', '=', sha(target.body.token))
      .executeTakeFirstOrThrow();

    // A watcher on its own connection counts valid tokens as fast as it can during rotations.
    const watcher = openStorage({
      url: baton.config.databaseUrl as string,
      max: 1,
      log: createLogger('silent'),
    });
    let rotating = true;
    let observations = 0;
    let minimum = Infinity;
    const watching = (async () => {
      while (rotating) {
        const { rows } = await sql<{ n: number }>`
          select count(*)::int as n from tokens
          where project_id = ${participation.project_id} and participation_id = ${participation.participation_id}
            and revoked_at is null and (expires_at is null or expires_at > now())`.execute(
          watcher.db,
        );
        minimum = Math.min(minimum, rows[0]?.n ?? 0);
        observations++;
      }
    })();
    const issued: string[] = [target.body.token];
    try {
      await Promise.all(
        [admin1, admin2].map(async (admin) => {
          for (let i = 0; i < 8; i++) {
            const r = await api(admin.token, 'admin_rotate', { participant: 'rotated' });
            expect(r.status).toBe(200);
            issued.push(r.body.token);
          }
        }),
      );
    } finally {
      rotating = false;
      await watching;
      await watcher.close();
    }
    expect(observations).toBeGreaterThan(0);
    expect(minimum).toBeGreaterThanOrEqual(1);
    const statuses = await Promise.all(issued.map(async (t) => (await api(t, 'whoami')).status));
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(issued.length - 1);
  });

  it("revocation ends every token of the participant at once, but not the caller's own", async () => {
    const admin = await baton.seed({ projectSlug: 'rev', label: 'boss', admin: true });
    const t1 = await api(admin.token, 'admin_provision', { participant: 'gone' });
    const t2 = await api(admin.token, 'admin_provision', { participant: 'gone' });
    const r = await api(admin.token, 'admin_revoke', { participant: 'gone' });
    expect(r.body).toMatchObject({ actor: 'owner/gone', revoked: 2 });
    expect((await api(t1.body.token, 'whoami')).status).toBe(401);
    expect((await api(t2.body.token, 'whoami')).status).toBe(401);
    const self = await api(admin.token, 'admin_revoke', { participant: 'boss' });
    expect(self.status).toBe(409);
  });

  it('refuses an expired token with a message that says it expired', async () => {
    const admin = await baton.seed({ projectSlug: 'exp', label: 'boss', admin: true });
    const p = await api(admin.token, 'admin_provision', {
      participant: 'short-lived',
      ttl_days: 1,
    });
    expect(new Date(p.body.expires_at).getTime()).toBeGreaterThan(Date.now());
    expect((await api(p.body.token, 'whoami')).status).toBe(200);
    // Its time is up (moved back rather than waited for). A change behind Baton's back reaches
    // the server's token memory only as Baton's own do: notified at commit, on its pool.
    await transact(baton.storage.db, async (trx) => {
      const row = await trx
        .updateTable('tokens')
        .set({ expires_at: sql`now() - interval '1 minute'` })
        .where('token_hash', '=', sha(p.body.token))
        .returning('project_id')
        .executeTakeFirstOrThrow();
      await notifyAccessChanged(trx, row.project_id);
    });
    const r = await api(p.body.token, 'whoami');
    expect(r.status).toBe(401);
    expect(r.body.error.message).toMatch(/token expired at .*; ask a project admin/);
  });
});

describe('token use', () => {
  it('records last_used_at, at most once per 10 s', async () => {
    const a = await baton.seed({ projectSlug: 'used', label: 'user' });
    const lastUsed = async () =>
      (
        await baton.storage.db
          .selectFrom('tokens')
          .select('last_used_at')
          .where('token_hash', '=', sha(a.token))
          .executeTakeFirstOrThrow()
      ).last_used_at;
    expect(await lastUsed()).toBeNull();
    await api(a.token, 'whoami');
    await expect.poll(lastUsed).not.toBeNull();
    const first = await lastUsed();
    for (let i = 0; i < 5; i++) await api(a.token, 'whoami');
    await new Promise((r) => setTimeout(r, 100));
    expect(await lastUsed()).toEqual(first); // debounced: no second write within 10 s
  });
});

describe('lanes', () => {
  it('every way of setting a lane makes it known to to_lane: provisioning, re-provisioning, an invite, register', async () => {
    const admin = await baton.seed({ projectSlug: 'lanes', label: 'chief', admin: true });
    await api(admin.token, 'admin_provision', { participant: 'new-one', lane: 'made' });
    await api(admin.token, 'admin_provision', { participant: 'new-one', lane: 'moved' });
    const inv = await api(admin.token, 'create_invite', { uses: 1, lane: 'invited' });
    expect((await join({ code: inv.body.code, name: 'lane-joiner' })).status).toBe(200);
    await api(admin.token, 'register', { lane: 'registered' });
    // Everyone then leaves those lanes; the lanes stay known.
    await api(admin.token, 'register', { lane: 'elsewhere' });
    const error = await api(admin.token, 'post', { to_lane: 'nowhere', body: 'typo' });
    expect(error.body.error.message).toContain(
      'known lanes: elsewhere, invited, made, moved, registered',
    );
  });
});

describe('invites', () => {
  it('redeems exactly its uses under 20 concurrent redeemers', async () => {
    const admin = await baton.seed({ projectSlug: 'inv', label: 'boss', admin: true });
    const inv = await api(admin.token, 'create_invite', { uses: 5, lane: 'ops' });
    expect(inv.body.code).toMatch(/^baton_inv_/);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        join({ code: inv.body.code, name: `joiner-${i}` }, `198.51.100.${i + 1}`),
      ),
    );
    const ok = results.filter((r) => r.status === 200);
    expect(ok).toHaveLength(5);
    expect(
      results.filter((r) => r.status === 403).every((r) => /used up/.test(r.body.error.message)),
    ).toBe(true);
    for (const r of ok) {
      expect((await api(r.body.token, 'whoami')).body).toMatchObject({
        actor: r.body.actor,
        lane: 'ops',
        project: 'inv',
      });
      expect(r.body.setup.mcp_url).toBe(baton.mcpUrl);
    }
    const row = await baton.storage.db
      .selectFrom('invites')
      .select(['uses_left'])
      .where('code_hash', '=', sha(inv.body.code))
      .executeTakeFirstOrThrow();
    expect(row.uses_left).toBe(0);
  });

  it('does not consume a use when the name is taken, honours a name lock, expires and can be revoked', async () => {
    const admin = await baton.seed({ projectSlug: 'inv2', label: 'boss', admin: true });
    const inv = await api(admin.token, 'create_invite', { uses: 1 });
    const taken = await join({ code: inv.body.code, name: 'boss' }, '192.0.2.10');
    expect(taken.status).toBe(409);
    expect(taken.body.error.message).toMatch(/name "boss" is taken/);
    const fine = await join({ code: inv.body.code, name: 'newcomer' }, '192.0.2.10');
    expect(fine.status).toBe(200);

    const locked = await api(admin.token, 'create_invite', {
      participant: 'reserved',
      kind: 'human',
    });
    expect((await join({ code: locked.body.code, name: 'other' }, '192.0.2.11')).status).toBe(400);
    const viaLock = await join({ code: locked.body.code }, '192.0.2.11');
    expect(viaLock.body.actor).toBe('owner/reserved');
    expect((await api(viaLock.body.token, 'whoami')).body.kind).toBe('human');

    const old = await api(admin.token, 'create_invite', {});
    await baton.storage.db
      .updateTable('invites')
      .set({ expires_at: sql`now() - interval '1 second'` })
      .where('code_hash', '=', sha(old.body.code))
      .execute();
    const expired = await join({ code: old.body.code, name: 'late' }, '192.0.2.12');
    expect(expired.status).toBe(403);
    expect(expired.body.error.message).toMatch(/expired/);

    const doomed = await api(admin.token, 'create_invite', {});
    expect((await api(admin.token, 'revoke_invite', { code: doomed.body.code })).status).toBe(200);
    const refused = await join({ code: doomed.body.code, name: 'nope' }, '192.0.2.13');
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/revoked/);
    // Revoking again is not an error (the tool is idempotent): nothing changes and it says so.
    const again = await api(admin.token, 'revoke_invite', { code: doomed.body.code });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ revoked: false });
    expect(
      (await api(admin.token, 'revoke_invite', { code: `baton_inv_${'y'.repeat(43)}` })).status,
    ).toBe(404);
    expect(
      (await join({ code: `baton_inv_${'x'.repeat(43)}`, name: 'who' }, '192.0.2.14')).status,
    ).toBe(404);
  });

  it('stores no plaintext code', async () => {
    const admin = await baton.seed({ projectSlug: 'inv3', label: 'boss', admin: true });
    const inv = await api(admin.token, 'create_invite', {});
    const { rows } = await sql<{
      row: string;
    }>`select row_to_json(i)::text as row from invites i`.execute(baton.storage.db);
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.row).not.toContain(inv.body.code.slice(10));
  });
});

describe('the ledger of administration', () => {
  it('records every admin act with actor and target, and never a token or code', async () => {
    const admin = await baton.seed({ projectSlug: 'audit', label: 'boss', admin: true });
    const p = await api(admin.token, 'admin_provision', { participant: 'audited' });
    const r = await api(admin.token, 'admin_rotate', { participant: 'audited' });
    await api(admin.token, 'admin_revoke', { participant: 'audited' });
    const inv = await api(admin.token, 'create_invite', { uses: 2 });
    const j = await join({ code: inv.body.code, name: 'joined' }, '192.0.2.20');
    await api(admin.token, 'revoke_invite', { code: inv.body.code });
    await api(admin.token, 'set_liveness_window', { seconds: 600 });
    const project = await baton.storage.db
      .selectFrom('projects')
      .select('id')
      .where('slug', '=', 'audit')
      .executeTakeFirstOrThrow();
    const events = await baton.storage.db
      .selectFrom('events')
      .selectAll()
      .where('project_id', '=', project.id)
      .orderBy('seq')
      .execute();
    const types = events.map((e) => e.type);
    expect(types).toEqual([
      'participant_provisioned',
      'participant_provisioned',
      'token_rotated',
      'tokens_revoked',
      'invite_created',
      'invite_redeemed',
      'invite_revoked',
      'liveness_window_set',
    ]);
    // The seed (the command line) granted the admin; every later act is the admin's, by tool.
    expect(events[0]).toMatchObject({ actor: 'owner', data: { via: 'cli' } });
    for (const e of events
      .slice(1)
      .filter((e) =>
        ['participant_provisioned', 'token_rotated', 'tokens_revoked'].includes(e.type),
      )) {
      expect(e.actor).toBe('owner/boss');
      expect(e.data).toMatchObject({ participant: 'owner/audited' });
    }
    expect(events.find((e) => e.type === 'invite_redeemed')?.actor).toBe('owner/joined');
    const text = JSON.stringify(events);
    for (const secret of [p.body.token, r.body.token, inv.body.code, j.body.token]) {
      expect(text).not.toContain(secret.slice(-43));
    }
  });
});

describe('rate limits', () => {
  it('answers rate_limited with a retry hint once a token exhausts its bucket', async () => {
    const limited = await startTestBaton({ env: { BATON_RATE_LIMIT: '1' } });
    try {
      const { token } = await limited.seed({ label: 'hasty' });
      const statuses: number[] = [];
      let last: Response | undefined;
      for (let i = 0; i < 8; i++) {
        last = await fetch(`${limited.baseUrl}/api/v1/tools/whoami`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}` },
        });
        statuses.push(last.status);
        if (last.status === 429) break;
      }
      expect(statuses).toContain(429);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(5); // the burst
      expect(Number(last?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(
        ((await last?.json()) as { error: { code: string; retry_after_seconds: number } }).error,
      ).toMatchObject({ code: 'rate_limited' });
      // Over MCP a rate-limited tool call is an isError result the model can act on.
      const other = await limited.seed({ label: 'hasty-mcp' });
      const client = await limited.connect(other.token);
      let outcome: Awaited<ReturnType<typeof call>> | undefined;
      for (let i = 0; i < 8; i++) {
        outcome = await call(client, 'whoami');
        if (outcome.isError) break;
      }
      expect(outcome?.body.error).toMatchObject({ code: 'rate_limited' });
    } finally {
      await limited.close();
    }
  });

  it('limits /join per client address, and a spoofed X-Forwarded-For from an untrusted peer does not escape it', async () => {
    const plain = await startTestBaton(); // no TRUST_PROXY
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await join(
          { code: `baton_inv_${'y'.repeat(43)}`, name: 'x' },
          `10.9.${i}.1`,
          plain.baseUrl,
        );
        statuses.push(r.status);
        if (r.status === 429) expect(r.headers.get('retry-after')).toBeTruthy();
      }
      expect(statuses.slice(0, 10).every((s) => s === 404)).toBe(true);
      expect(statuses.slice(10)).toEqual([429, 429]);
    } finally {
      await plain.close();
    }
  });
});
