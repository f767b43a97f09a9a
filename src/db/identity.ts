import { CompiledQuery, sql } from 'kysely';
import type pg from 'pg';
import type { Db, Executor, Trx } from './pool.js';
import { hasLiveToken, RECORD_LANES } from './presence.js';

// Owners, projects, participants, participations and tokens.

export interface AuthRow {
  token_id: string;
  project_id: string;
  participation_id: string;
  participant_id: string;
  project_slug: string;
  handle: string;
  label: string;
  kind: 'agent' | 'human';
  lane: string | null;
  is_admin: boolean;
  last_seen_at: Date | null;
  token_last_used_at: Date | null;
  revoked: boolean;
  expires_at: Date | null;
  expired: boolean;
  /** Present when a session id was given and it exists in this project. */
  session_participation_id: string | null;
  session_closed: boolean | null;
  session_last_seen_at: Date | null;
  /** The protocol version the presented session negotiated at initialize. */
  session_protocol_version: string | null;
}

/**
 * The whole authentication of a request in one indexed query: token → participation → project,
 * participant and owner, plus the presented MCP session when there is one. Revocation and expiry
 * are evaluated against the database clock on every request, so they take effect on the very
 * next call; the caller refuses revoked or expired rows (and can say which).
 */
const RESOLVE_TOKEN = `
  select t.id as token_id, pa.project_id, pa.id as participation_id,
         p.id as participant_id, pr.slug as project_slug, o.handle, p.label, p.kind,
         pa.lane, pa.is_admin, pa.last_seen_at, t.last_used_at as token_last_used_at,
         t.revoked_at is not null as revoked, t.expires_at,
         coalesce(t.expires_at <= now(), false) as expired,
         s.participation_id as session_participation_id,
         (s.closed_at is not null) as session_closed, s.last_seen_at as session_last_seen_at,
         s.protocol_version as session_protocol_version
  from tokens t
  join participations pa on pa.project_id = t.project_id and pa.id = t.participation_id
  join projects pr on pr.id = pa.project_id
  join participants p on p.id = pa.participant_id
  join owners o on o.id = p.owner_id
  left join mcp_sessions s on s.project_id = t.project_id and s.id = $2
  where t.token_hash = $1`;

export async function resolveToken(
  db: Executor,
  hash: Buffer,
  sessionId: string | undefined,
  pool?: pg.Pool,
): Promise<AuthRow | undefined> {
  const values = [hash, sessionId ?? null];
  // Every request runs this six-table join, and planning it costs more than running it. Given
  // the pool, it runs as a named prepared statement, so each connection plans it once.
  if (pool) {
    const r = await pool.query<AuthRow>({
      name: 'baton_resolve_token',
      text: RESOLVE_TOKEN,
      values,
    });
    return r.rows[0];
  }
  const { rows } = await db.executeQuery(CompiledQuery.raw(RESOLVE_TOKEN, values));
  return rows[0] as AuthRow | undefined;
}

/**
 * Liveness and token use, written at most once per 10 s per participation (spec §7 Presence).
 * Without a token (the owner's self, acting from the pages through a session) only liveness.
 * They are approximate by nature, so the write does not wait for its WAL flush: a crash can lose
 * the last few seconds of "last seen", nothing else. One statement, no BEGIN: the setting is
 * transaction-local, so it concerns this statement's own commit.
 */
export async function touchParticipation(
  db: Executor,
  projectId: string,
  participationId: string,
  tokenId: string | null,
) {
  await sql`
    with pa as (
      update participations set last_seen_at = now()
      where project_id = ${projectId} and id = ${participationId}
        and (last_seen_at is null or last_seen_at < now() - interval '10 seconds')
    ), tk as (
      update tokens set last_used_at = now()
      where ${tokenId}::bigint is not null and project_id = ${projectId} and id = ${tokenId}
        and (last_used_at is null or last_used_at < now() - interval '10 seconds')
    )
    select set_config('synchronous_commit', 'off', true)`.execute(db);
}

export async function findOwnerByEmail(db: Executor, email: string) {
  return db
    .selectFrom('owners')
    .select(['id', 'email', 'handle'])
    .where(sql`lower(email)`, '=', email.toLowerCase())
    .executeTakeFirst();
}

export async function handleTaken(db: Executor, handle: string): Promise<boolean> {
  const row = await db
    .selectFrom('owners')
    .select('id')
    .where('handle', '=', handle)
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertOwner(trx: Trx, email: string, handle: string) {
  return trx
    .insertInto('owners')
    .values({ email, handle })
    .returning(['id', 'email', 'handle'])
    .executeTakeFirstOrThrow();
}

export async function anyOwnerExists(db: Executor): Promise<boolean> {
  const row = await db.selectFrom('owners').select('id').limit(1).executeTakeFirst();
  return row !== undefined;
}

export async function findProject(db: Executor, ownerId: string, slug: string) {
  return db
    .selectFrom('projects')
    .select(['id', 'slug', 'name', 'liveness_window_seconds'])
    .where('owner_id', '=', ownerId)
    .where('slug', '=', slug)
    .executeTakeFirst();
}

export async function insertProject(trx: Trx, ownerId: string, slug: string, name: string) {
  return trx
    .insertInto('projects')
    .values({ owner_id: ownerId, slug, name })
    .returning(['id', 'slug', 'name', 'liveness_window_seconds'])
    .executeTakeFirstOrThrow();
}

export async function findParticipant(db: Executor, ownerId: string, label: string) {
  return db
    .selectFrom('participants')
    .select(['id', 'label', 'kind'])
    .where('owner_id', '=', ownerId)
    .where('label', '=', label)
    .executeTakeFirst();
}

export async function insertParticipant(
  trx: Trx,
  ownerId: string,
  label: string,
  kind: 'agent' | 'human',
) {
  return trx
    .insertInto('participants')
    .values({ owner_id: ownerId, label, kind })
    .returning(['id', 'label', 'kind'])
    .executeTakeFirstOrThrow();
}

export async function findParticipation(db: Executor, projectId: string, participantId: string) {
  return db
    .selectFrom('participations')
    .select(['id', 'lane', 'is_admin'])
    .where('project_id', '=', projectId)
    .where('participant_id', '=', participantId)
    .executeTakeFirst();
}

/** Records the lane it is given among the project's lanes (RECORD_LANES). */
export async function insertParticipation(
  trx: Trx,
  projectId: string,
  participantId: string,
  opts: { lane?: string | null; isAdmin: boolean },
) {
  const { rows } = await sql<{ id: string; lane: string | null; is_admin: boolean }>`
    with pa as (
      insert into participations (project_id, participant_id, lane, is_admin)
      values (${projectId}, ${participantId}, ${opts.lane ?? null}, ${opts.isAdmin})
      returning project_id, id, lane, is_admin
    ), remembered as (${RECORD_LANES})
    select id, lane, is_admin from pa`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('participation insert returned no row');
  return row;
}

/**
 * Sets lane and admin flag where given; undefined leaves a field as it is. A lane is recorded
 * among the project's lanes (RECORD_LANES).
 */
export async function updateParticipation(
  trx: Trx,
  projectId: string,
  participationId: string,
  changes: { lane?: string | null; isAdmin?: boolean },
) {
  const set = [
    ...(changes.lane !== undefined ? [sql`lane = ${changes.lane}`] : []),
    ...(changes.isAdmin !== undefined ? [sql`is_admin = ${changes.isAdmin}`] : []),
  ];
  if (set.length === 0) return;
  await sql`
    with pa as (
      update participations set ${sql.join(set)}
      where project_id = ${projectId} and id = ${participationId}
      returning project_id, lane
    )
    ${RECORD_LANES}`.execute(trx);
}

export async function insertToken(
  trx: Trx,
  projectId: string,
  participationId: string,
  hash: Buffer,
  expiresAt: Date | null = null,
) {
  return trx
    .insertInto('tokens')
    .values({
      project_id: projectId,
      participation_id: participationId,
      token_hash: hash,
      expires_at: expiresAt,
    })
    .returning(['id'])
    .executeTakeFirstOrThrow();
}

export interface RosterRow {
  handle: string;
  label: string;
  kind: 'agent' | 'human';
  lane: string | null;
  is_admin: boolean;
  last_seen_at: Date | null;
  active: boolean;
  /** No live token: it can no longer call, so it is never active. */
  revoked: boolean;
  signing_jwk: Record<string, unknown> | null;
  signing_kid: string | null;
}

/** The project's roster; `active` uses the project's liveness window and needs a live token. */
export async function listParticipants(db: Db | Trx, projectId: string): Promise<RosterRow[]> {
  // The token check is evaluated once per row for both columns; `offset 0` keeps the planner
  // from folding the lateral back into them, which would evaluate it twice again.
  const { rows } = await sql<RosterRow>`
    select o.handle, p.label, p.kind, pa.lane, pa.is_admin, pa.last_seen_at, pa.signing_jwk, pa.signing_kid,
           not tk.live as revoked,
           tk.live and coalesce(
             pa.last_seen_at > now() - make_interval(secs => pr.liveness_window_seconds), false) as active
    from participations pa
    join projects pr on pr.id = pa.project_id
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    cross join lateral (select ${hasLiveToken} as live offset 0) tk
    where pa.project_id = ${projectId}
    order by o.handle, p.label`.execute(db);
  return rows;
}

export async function projectOwner(db: Executor, projectId: string) {
  return db
    .selectFrom('projects')
    .innerJoin('owners', 'owners.id', 'projects.owner_id')
    .select(['owners.id as owner_id', 'owners.handle'])
    .where('projects.id', '=', projectId)
    .executeTakeFirstOrThrow();
}

/**
 * The participation an administrative act targets, by its label (tools) or its id (a web admin
 * path), row-locked so that rotation, revocation, rights and provisioning of one participant are
 * serialised.
 */
export async function lockParticipation(
  trx: Trx,
  projectId: string,
  by: { label: string } | { participationId: string },
) {
  const condition = 'label' in by ? sql`p.label = ${by.label}` : sql`pa.id = ${by.participationId}`;
  const { rows } = await sql<{
    id: string;
    participant_id: string;
    handle: string;
    label: string;
    is_admin: boolean;
  }>`
    select pa.id, pa.participant_id, o.handle, p.label, pa.is_admin
    from participations pa
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    where pa.project_id = ${projectId} and ${condition}
    for update of pa`.execute(trx);
  return rows[0];
}

/** Revokes every live token of a participation except `keep`; returns how many. */
export async function revokeTokensOf(
  trx: Trx,
  projectId: string,
  participationId: string,
  keep?: string,
): Promise<number> {
  let q = trx
    .updateTable('tokens')
    .set({ revoked_at: sql`now()` })
    .where('project_id', '=', projectId)
    .where('participation_id', '=', participationId)
    .where('revoked_at', 'is', null);
  if (keep !== undefined) q = q.where('id', '!=', keep);
  const r = await q.executeTakeFirst();
  return Number(r.numUpdatedRows);
}

export async function signingKeyOf(db: Executor, projectId: string, participationId: string) {
  const row = await db
    .selectFrom('participations')
    .select(['signing_jwk', 'signing_kid'])
    .where('project_id', '=', projectId)
    .where('id', '=', participationId)
    .executeTakeFirst();
  return row?.signing_jwk && row.signing_kid
    ? { jwk: row.signing_jwk, kid: row.signing_kid }
    : undefined;
}

export async function setSigningKey(
  trx: Trx,
  projectId: string,
  participationId: string,
  jwk: object,
  kid: string,
) {
  await trx
    .updateTable('participations')
    .set({
      signing_jwk: JSON.stringify(jwk) as unknown as Record<string, unknown>,
      signing_kid: kid,
    })
    .where('project_id', '=', projectId)
    .where('id', '=', participationId)
    .execute();
}
