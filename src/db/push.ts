import type { EventRow } from './events.js';
import { sql } from 'kysely';
import type { Executor } from './pool.js';
import type { EventType } from './event-types.js';

// What the live streams of a process read: the project's new ledger events, each with what a
// push needs to say about it (the post's sender and excerpt, the task's title), and which of the
// watching participations a post was addressed to.
//
// Every read returns the project's ledger head from the same snapshot. seq is dense and
// commit-ordered (0002_ledger.sql), so a snapshot that sees head H sees every event up to H:
// "examined up to H" is exact, and the next read starts after it.

/** Event types that can concern one participation (spec §10). */
export const PUSH_TYPES = [
  'post',
  'lease_expired',
  'task_assigned',
  'task_created',
] as const satisfies readonly EventType[];

/**
 * Events after which a stream's right to exist must be checked again at once: its token may
 * have been revoked (or rotated away), its participant deleted. Streams read them too, so that a
 * revocation ends the token's streams on every process before any later event reaches them.
 */
export const ACCESS_TYPES = [
  'tokens_revoked',
  'token_rotated',
  'participant_deleted',
] as const satisfies readonly EventType[];

/** A ledger event as the feed reads it: the event, with what a push needs besides. */
export interface FeedRow extends EventRow {
  participation_id: string | null;
  /** Posts: the sender, how it was addressed, and the start of its body. */
  subject: string | null;
  to_lane: string | null;
  broadcast: boolean | null;
  excerpt: string | null;
  body_length: number | null;
  action: string | null;
  /** The post's JSON data, when it has some. */
  post_data: Record<string, unknown> | null;
  /** Posts: which of the watching participations it was addressed to. */
  recipients: string[] | null;
  task_title: string | null;
}

export interface FeedPage {
  /** The project's ledger head in the snapshot of this read (0 before the first event). */
  head: number;
  rows: FeedRow[];
}

/** Enough of a post body for a notification; the reader fetches the rest with read_posts. */
const EXCERPT_CHARS = 400;

const ROW = sql`
  e.seq, e.type, e.actor, e.at, e.participation_id, e.task_id, e.post_id, e.lease_id,
  e.sequence, e.ref, e.tag, e.data, p.subject, p.to_lane, p.broadcast,
  left(p.body, ${EXCERPT_CHARS}) as excerpt, length(p.body) as body_length, p.action,
  p.data as post_data, t.title as task_title`;

const JOINS = sql`
  left join posts p on e.type = 'post' and p.project_id = e.project_id and p.id = e.post_id
  left join tasks t on e.type in ('task_assigned', 'task_created')
    and t.project_id = e.project_id and t.id = e.task_id`;

function page(rows: (FeedRow & { head: string | null })[]): FeedPage {
  const head = Number(rows[0]?.head ?? 0);
  return { head, rows: rows.filter((r) => r.seq !== null) };
}

/**
 * The events after `afterSeq`, oldest first, for everything this process streams in a project:
 * all types when a ledger subscriber is watching, else only those that can become a push. For a
 * post, `recipients` lists which of `watchers` it was addressed to. One query per wake, however
 * many streams are open on the project.
 */
export async function feedAfter(
  db: Executor,
  projectId: string,
  afterSeq: number,
  opts: { watchers: readonly string[]; allTypes: boolean; limit: number },
): Promise<FeedPage> {
  const types = opts.allTypes ? null : [...PUSH_TYPES, ...ACCESS_TYPES];
  const { rows } = await sql<FeedRow & { head: string | null }>`
    select h.last_seq as head, ev.*
    from ledger_heads h
    left join lateral (
      select ${ROW},
        case when e.type = 'post' then array(
          select r.participation_id::text from post_recipients r
          where r.project_id = e.project_id and r.post_id = e.post_id
            and r.participation_id = any(${opts.watchers}::bigint[])
        ) end as recipients
      from events e ${JOINS}
      where e.project_id = h.project_id and e.seq > ${afterSeq} and e.seq <= h.last_seq
        and (${types}::text[] is null or e.type = any(${types}::text[]))
      order by e.seq
      limit ${opts.limit}
    ) ev on true
    where h.project_id = ${projectId}`.execute(db);
  return page(rows);
}

export interface Reader {
  participationId: string;
  actor: string;
}

/**
 * What one participation's stream would have carried after `afterSeq`: posts addressed to it,
 * its leases taken over after expiry, and tasks given to it by someone else. For a client that
 * resumes with Last-Event-ID.
 */
export async function pushesAfter(
  db: Executor,
  projectId: string,
  me: Reader,
  afterSeq: number,
  limit: number,
): Promise<FeedPage> {
  const { rows } = await sql<FeedRow & { head: string | null }>`
    select h.last_seq as head, ev.*
    from ledger_heads h
    left join lateral (
      select ${ROW}, array[${me.participationId}::text] as recipients
      from events e ${JOINS}
      where e.project_id = h.project_id and e.seq > ${afterSeq} and e.seq <= h.last_seq
        and e.type = any(${[...PUSH_TYPES]}::text[])
        and case e.type
          when 'post' then exists (
            select 1 from post_recipients r
            where r.project_id = e.project_id and r.post_id = e.post_id
              and r.participation_id = ${me.participationId})
          when 'lease_expired' then e.participation_id = ${me.participationId}
          else e.data->>'owner' = ${me.actor}
            and e.participation_id is distinct from ${me.participationId}::bigint
        end
      order by e.seq
      limit ${limit}
    ) ev on true
    where h.project_id = ${projectId}`.execute(db);
  return page(rows);
}

/**
 * Posts addressed to me that were never delivered, newest `limit` of them, oldest first, and the
 * head they were read at. A stream that starts without Last-Event-ID pushes these first.
 */
export async function undeliveredPosts(
  db: Executor,
  projectId: string,
  me: string,
  limit: number,
): Promise<FeedPage> {
  // delivered_at is null implies acked_at is null, which lets the partial unacked index serve.
  const { rows } = await sql<FeedRow & { head: string | null }>`
    select h.last_seq as head, ev.*
    from ledger_heads h
    left join lateral (
      select * from (
        select ${ROW}, array[${me}::text] as recipients
        from post_recipients r
        join events e on e.project_id = r.project_id and e.post_id = r.post_id and e.type = 'post'
        ${JOINS}
        where r.project_id = h.project_id and r.participation_id = ${me}
          and r.acked_at is null and r.delivered_at is null and e.seq <= h.last_seq
        order by e.seq desc
        limit ${limit}
      ) newest order by seq
    ) ev on true
    where h.project_id = ${projectId}`.execute(db);
  return page(rows);
}

/** Records first delivery of pushed posts (spec §7: a push delivers; it never acks). */
export async function markPushed(
  db: Executor,
  projectId: string,
  pushed: readonly { participationId: string; postId: string }[],
): Promise<void> {
  if (pushed.length === 0) return;
  await sql`
    update post_recipients r set delivered_at = now()
    from unnest(${pushed.map((p) => p.participationId)}::bigint[],
                ${pushed.map((p) => p.postId)}::bigint[]) as u(participation_id, post_id)
    where r.project_id = ${projectId} and r.participation_id = u.participation_id
      and r.post_id = u.post_id and r.delivered_at is null`.execute(db);
}

export interface StreamGrant {
  projectId: string;
  tokenId: string;
  /** The MCP session the stream belongs to; none for a ledger subscription. */
  sessionId: string | null;
}

/**
 * Which of these open streams may stay open: the token is neither revoked nor expired and the
 * session (if any) has not ended. One query for every stream of the process; returns indexes.
 */
export async function stillGranted(
  db: Executor,
  grants: readonly StreamGrant[],
): Promise<Set<number>> {
  if (grants.length === 0) return new Set();
  const { rows } = await sql<{ i: string }>`
    select u.i from unnest(${grants.map((g) => g.projectId)}::bigint[],
                           ${grants.map((g) => g.tokenId)}::bigint[],
                           ${grants.map((g) => g.sessionId)}::text[])
      with ordinality as u(project_id, token_id, session_id, i)
    join tokens t on t.project_id = u.project_id and t.id = u.token_id
    where t.revoked_at is null and (t.expires_at is null or t.expires_at > now())
      and (u.session_id is null or exists (
        select 1 from mcp_sessions s
        where s.project_id = u.project_id and s.id = u.session_id and s.closed_at is null))`.execute(
    db,
  );
  return new Set(rows.map((r) => Number(r.i) - 1));
}

/** The project's ledger head: the seq of its last event, 0 before the first. */
export async function ledgerHead(db: Executor, projectId: string): Promise<number> {
  const row = await db
    .selectFrom('ledger_heads')
    .select('last_seq')
    .where('project_id', '=', projectId)
    .executeTakeFirst();
  return Number(row?.last_seq ?? 0);
}
