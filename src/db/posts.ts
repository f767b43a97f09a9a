import { sql, type RawBuilder } from 'kysely';
import type { Executor, Trx } from './pool.js';
import { hasLiveToken } from './presence.js';

// Posts and their per-recipient receipts. Recipients are materialised at post time (see
// migrations/0004_handoffs.sql for why), so "to me", "unacked" and receipts are all lookups in
// post_recipients.

export interface NewPost {
  senderId: string;
  senderActor: string;
  toParticipationId: string | null;
  toActor: string | null;
  toLane: string | null;
  broadcast: boolean;
  subject: string | null;
  body: string;
  ref: string | null;
  tag: string | null;
  replyTo: string | null;
  threadId: string | null;
  idempotencyKey: string | null;
  /** A compact JWS the server verified against the sender's key, and that key's id. */
  signature?: string | null;
  signingKid?: string | null;
  action?: string | null;
  data?: Record<string, unknown> | null;
}

/** Returns the new id, or undefined when the sender already used this idempotency key. */
export async function insertPost(
  trx: Trx,
  projectId: string,
  p: NewPost,
): Promise<string | undefined> {
  // A concurrent post with the same key waits here for the first one's commit, then does nothing.
  const { rows } = await sql<{ id: string }>`
    insert into posts (project_id, sender_participation_id, sender_actor, to_participation_id,
                       to_actor, to_lane, broadcast, subject, body, ref, tag, reply_to, thread_id,
                       idempotency_key, signature, signing_kid, action, data)
    values (${projectId}, ${p.senderId}, ${p.senderActor}, ${p.toParticipationId}, ${p.toActor},
            ${p.toLane}, ${p.broadcast}, ${p.subject}, ${p.body}, ${p.ref}, ${p.tag}, ${p.replyTo},
            ${p.threadId}, ${p.idempotencyKey}, ${p.signature ?? null}, ${p.signingKid ?? null},
            ${p.action ?? null}, ${p.data ? JSON.stringify(p.data) : null}::jsonb)
    on conflict (project_id, sender_participation_id, idempotency_key)
      where idempotency_key is not null do nothing
    returning id`.execute(trx);
  return rows[0]?.id;
}

export type Audience =
  | { kind: 'direct'; participationId: string }
  | { kind: 'lane'; lane: string }
  | { kind: 'broadcast' };

/**
 * Decides the recipients, once: the addressee; everyone now in the lane but the sender; or
 * everyone in the project but the sender. Only participations with a live token receive: a
 * revoked participant can never read or ack, so a receipt of theirs would wait forever. Returns
 * the recipients' actors.
 */
export async function insertRecipients(
  trx: Trx,
  projectId: string,
  postId: string,
  senderId: string,
  to: Audience,
): Promise<string[]> {
  const who =
    to.kind === 'direct'
      ? sql`pa.id = ${to.participationId}`
      : to.kind === 'lane'
        ? sql`pa.lane = ${to.lane} and pa.id <> ${senderId}`
        : sql`pa.id <> ${senderId}`;
  const { rows } = await sql<{ actor: string }>`
    with ins as (
      insert into post_recipients (project_id, post_id, participation_id)
      select pa.project_id, ${postId}, pa.id from participations pa
      where pa.project_id = ${projectId} and ${who} and ${hasLiveToken}
      returning participation_id
    )
    select o.handle || '/' || p.label as actor
    from ins
    join participations pa on pa.project_id = ${projectId} and pa.id = ins.participation_id
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    order by actor`.execute(trx);
  return rows.map((r) => r.actor);
}

/** The first post sent with this key, and the seq of its `post` event. */
export async function findPostByKey(
  db: Executor,
  projectId: string,
  senderId: string,
  key: string,
): Promise<{ id: string; seq: string | null } | undefined> {
  const { rows } = await sql<{ id: string; seq: string | null }>`
    select p.id,
           (select e.seq from events e
            where e.project_id = p.project_id and e.post_id = p.id and e.type = 'post'
            order by e.seq limit 1) as seq
    from posts p
    where p.project_id = ${projectId} and p.sender_participation_id = ${senderId}
      and p.idempotency_key = ${key}`.execute(db);
  return rows[0];
}

export async function recipientActors(
  db: Executor,
  projectId: string,
  postId: string,
): Promise<string[]> {
  const rows = await receipts(db, projectId, [postId]);
  return rows.map((r) => r.actor);
}

/** The root of the thread a post belongs to (itself when it is a root). */
export async function threadRootOf(
  db: Executor,
  projectId: string,
  postId: number,
): Promise<string | undefined> {
  const { rows } = await sql<{ root: string }>`
    select coalesce(thread_id, id) as root from posts
    where project_id = ${projectId} and id = ${postId}`.execute(db);
  return rows[0]?.root;
}

export interface PostFilter {
  toMe?: boolean;
  toLane?: string;
  fromActor?: string;
  tag?: string;
  ref?: string;
  threadRoot?: string;
  unackedOnly?: boolean;
  sent?: boolean;
  action?: string;
  /** Oldest first instead of newest first; the page cursor is then a lower bound. */
  oldestFirst?: boolean;
  /**
   * My unacked posts only, their receipts locked for the ack that follows in the same
   * transaction. Receipts another drain has locked are skipped, so concurrent drains of one
   * inbox never return the same post twice.
   */
  forAck?: boolean;
  /** Exclusive bound on post id (the page cursor): below it newest first, above it oldest first. */
  afterCursor?: string;
  limit: number;
}

export interface PostRow {
  id: string;
  sender_actor: string;
  to_actor: string | null;
  to_lane: string | null;
  broadcast: boolean;
  subject: string | null;
  body: string;
  ref: string | null;
  tag: string | null;
  reply_to: string | null;
  thread_id: string | null;
  created_at: Date;
  /** Whether I am a recipient; my receipt follows when I am. */
  recipient: boolean;
  delivered_at: Date | null;
  acked_at: Date | null;
  signature: string | null;
  signing_kid: string | null;
  action: string | null;
  data: Record<string, unknown> | null;
}

/** Posts newest (or oldest) first, each with my own receipt. Filters are and-ed. */
export async function listPosts(
  db: Executor,
  projectId: string,
  me: string,
  f: PostFilter,
): Promise<PostRow[]> {
  const where: RawBuilder<unknown>[] = [sql`p.project_id = ${projectId}`];
  if (f.toLane !== undefined) where.push(sql`p.to_lane = ${f.toLane}`);
  if (f.fromActor !== undefined) where.push(sql`p.sender_actor = ${f.fromActor}`);
  if (f.tag !== undefined) where.push(sql`p.tag = ${f.tag}`);
  if (f.ref !== undefined) where.push(sql`p.ref = ${f.ref}`);
  if (f.threadRoot !== undefined) {
    where.push(sql`(p.id = ${f.threadRoot} or p.thread_id = ${f.threadRoot})`);
  }
  if (f.unackedOnly || f.forAck) where.push(sql`r.acked_at is null`);
  if (f.sent) where.push(sql`p.sender_participation_id = ${me}`);
  if (f.action !== undefined) where.push(sql`p.action = ${f.action}`);
  if (f.afterCursor !== undefined) {
    where.push(f.oldestFirst ? sql`p.id > ${f.afterCursor}` : sql`p.id < ${f.afterCursor}`);
  }
  // "To me" is "I am a recipient": an inner join that walks my inbox index.
  const join = f.toMe || f.unackedOnly || f.forAck ? sql`join` : sql`left join`;
  const { rows } = await sql<PostRow>`
    select p.id, p.sender_actor, p.to_actor, p.to_lane, p.broadcast, p.subject, p.body, p.ref,
           p.tag, p.reply_to, p.thread_id, p.created_at, p.signature, p.signing_kid, p.action,
           p.data, (r.participation_id is not null) as recipient, r.delivered_at, r.acked_at
    from posts p
    ${join} post_recipients r
      on r.project_id = p.project_id and r.post_id = p.id and r.participation_id = ${me}
    where ${sql.join(where, sql` and `)}
    order by p.id ${f.oldestFirst ? sql`asc` : sql`desc`}
    limit ${f.limit}
    ${f.forAck ? sql`for update of r skip locked` : sql``}`.execute(db);
  return rows;
}

/** Records first delivery to me of the posts just returned; returns the newly set times. */
export async function markDelivered(
  trx: Trx,
  projectId: string,
  me: string,
  postIds: readonly string[],
): Promise<Map<string, Date>> {
  if (postIds.length === 0) return new Map();
  const { rows } = await sql<{ post_id: string; delivered_at: Date }>`
    update post_recipients set delivered_at = now()
    where project_id = ${projectId} and participation_id = ${me}
      and post_id = any(${postIds}::bigint[]) and delivered_at is null
    returning post_id, delivered_at`.execute(trx);
  return new Map(rows.map((r) => [r.post_id, r.delivered_at]));
}

export interface ReceiptRow {
  post_id: string;
  actor: string;
  delivered_at: Date | null;
  acked_at: Date | null;
  /** The recipient has no live token any more: it cannot read or ack. */
  revoked: boolean;
}

export async function receipts(
  db: Executor,
  projectId: string,
  postIds: readonly string[],
): Promise<ReceiptRow[]> {
  if (postIds.length === 0) return [];
  const { rows } = await sql<ReceiptRow>`
    select r.post_id, o.handle || '/' || p.label as actor, r.delivered_at, r.acked_at,
           not ${hasLiveToken} as revoked
    from post_recipients r
    join participations pa on pa.project_id = r.project_id and pa.id = r.participation_id
    join participants p on p.id = pa.participant_id
    join owners o on o.id = p.owner_id
    where r.project_id = ${projectId} and r.post_id = any(${postIds}::bigint[])
    order by r.post_id, actor`.execute(db);
  return rows;
}

export interface AckTarget {
  id: string;
  ref: string | null;
  tag: string | null;
  recipient: boolean;
  acked: boolean;
}

/** The posts among ids that exist in the project, and whether I may (or already did) ack them. */
export async function ackTargets(
  db: Executor,
  projectId: string,
  me: string,
  postIds: readonly string[],
): Promise<AckTarget[]> {
  const { rows } = await sql<AckTarget>`
    select p.id, p.ref, p.tag, (r.participation_id is not null) as recipient,
           (r.acked_at is not null) as acked
    from posts p
    left join post_recipients r
      on r.project_id = p.project_id and r.post_id = p.id and r.participation_id = ${me}
    where p.project_id = ${projectId} and p.id = any(${postIds}::bigint[])
    order by p.id`.execute(db);
  return rows;
}

export interface AckedRow {
  post_id: string;
  delivered_at: Date;
  acked_at: Date;
}

/** Acks my receipts of these posts; returns those acked now (not those acked before), by id. */
export async function ackPosts(
  trx: Trx,
  projectId: string,
  me: string,
  postIds: readonly string[],
): Promise<AckedRow[]> {
  // The clock is read in a select: a distributed database refuses a non-immutable function
  // inside the COALESCE of a write.
  const { rows } = await sql<AckedRow>`
    update post_recipients r
    set acked_at = clock.at, delivered_at = coalesce(r.delivered_at, clock.at)
    from (select now() as at) as clock
    where r.project_id = ${projectId} and r.participation_id = ${me}
      and r.post_id = any(${postIds}::bigint[]) and r.acked_at is null
    returning r.post_id, r.delivered_at, r.acked_at`.execute(trx);
  return rows.sort((a, b) => Number(a.post_id) - Number(b.post_id));
}

/** The `unread` of write results: an index-only count over post_recipients_unacked_idx. */
export const unackedCount = (projectId: string, me: string | RawBuilder<unknown>) => sql<number>`
    select count(*)::int from post_recipients
    where project_id = ${projectId} and participation_id = ${me} and acked_at is null`;

export async function countUnacked(db: Executor, projectId: string, me: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`select (${unackedCount(projectId, me)}) as n`.execute(
    db,
  );
  return rows[0]?.n ?? 0;
}

export interface UnackedRow {
  id: string;
  sender_actor: string;
  subject: string | null;
  excerpt: string;
  ref: string | null;
  tag: string | null;
  created_at: Date;
}

/** My newest unacked posts, for the whats_new digest. */
export async function latestUnacked(
  db: Executor,
  projectId: string,
  me: string,
  limit: number,
): Promise<UnackedRow[]> {
  const { rows } = await latestUnackedSql(projectId, me, limit).execute(db);
  return rows;
}

export const latestUnackedSql = (projectId: string, me: string, limit: number) => sql<UnackedRow>`
    select p.id, p.sender_actor, p.subject, left(p.body, 120) as excerpt, p.ref, p.tag,
           p.created_at
    from post_recipients r
    join posts p on p.project_id = r.project_id and p.id = r.post_id
    where r.project_id = ${projectId} and r.participation_id = ${me} and r.acked_at is null
    order by r.post_id desc
    limit ${limit}`;
