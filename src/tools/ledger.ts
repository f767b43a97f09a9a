import { z } from 'zod';
import { invalid } from '../errors.js';
import {
  countCursors,
  createCursor,
  lockCursor,
  queryEvents,
  readWhatsNew,
  type EventJson,
  type EventRow,
  type WhatsNewRead,
} from '../db/events.js';
import { advisoryXactLock } from '../db/locks.js';
import type { Trx } from '../db/pool.js';
import { ACTOR_OR_HANDLE, ID, line } from '../names.js';
import { digestView } from './digest.js';
import { decodeCursor, encodeCursor, page, PAGE_CURSOR } from './pages.js';
import { requireActorFilter } from './presence.js';
import { defineTool, type Ctx } from './types.js';

// Reading the ledger: query_events for history, whats_new for "everything since I last looked".

const SEQ = z.number().int().min(0);
const MAX_CURSORS = 100;

// ISO 8601 with an explicit zone (or a bare date, read as UTC), so a time never silently means
// the server's local time.
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;
export const TIME = z
  .string()
  .max(40, 'a time is at most 40 characters')
  .refine((s) => ISO_TIME.test(s) && !Number.isNaN(Date.parse(s)), {
    message: 'must be an ISO 8601 time with a zone, e.g. 2025-01-31T09:00:00Z, or a date',
  });

export function eventView(e: EventRow | EventJson): Record<string, unknown> {
  // Built member by member, in this order, without intermediate objects: a whats_new page
  // makes up to 500 of these.
  const v: Record<string, unknown> = {
    seq: Number(e.seq),
    type: e.type,
    actor: e.actor,
    at: typeof e.at === 'string' ? e.at : e.at.toISOString(),
  };
  if (e.post_id !== null) v.post_id = Number(e.post_id);
  if (e.task_id !== null) v.task_id = Number(e.task_id);
  if (e.lease_id !== null) v.lease_id = Number(e.lease_id);
  if (e.sequence !== null) v.sequence = e.sequence;
  if (e.ref !== null) v.ref = e.ref;
  if (e.tag !== null) v.tag = e.tag;
  if (hasMembers(e.data)) v.data = e.data;
  return v;
}

/** Object.keys(o).length > 0, without building the array. */
function hasMembers(o: Record<string, unknown>): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}

export const query_events = defineTool({
  name: 'query_events',
  title: 'Query events',
  description: 'Ledger events, newest first, by exact filters.',
  input: z.strictObject({
    type: line(64).optional(),
    actor: ACTOR_OR_HANDLE.optional(),
    sequence: line(64).optional(),
    ref: line(500).optional(),
    tag: line(64).optional(),
    task_id: ID.optional(),
    since: TIME.optional(),
    until: TIME.optional(),
    after_seq: SEQ.optional(),
    before_seq: SEQ.optional(),
    cursor: PAGE_CURSOR.optional(),
    limit: z.number().int().min(1).max(1000).default(100),
  }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, a) => {
    if (a.actor !== undefined) await requireActorFilter(trx, ctx.projectId, a.actor, 'actor');
    const fromCursor =
      a.cursor === undefined ? undefined : Number(decodeCursor('events', a.cursor, 'query_events'));
    const bounds = [a.before_seq, fromCursor].filter((n): n is number => n !== undefined);
    const rows = await queryEvents(trx, ctx.projectId, {
      type: a.type,
      actor: a.actor,
      sequence: a.sequence,
      ref: a.ref,
      tag: a.tag,
      taskId: a.task_id,
      since: a.since === undefined ? undefined : new Date(a.since),
      until: a.until === undefined ? undefined : new Date(a.until),
      afterSeq: a.after_seq,
      beforeSeq: bounds.length > 0 ? Math.min(...bounds) : undefined,
      limit: a.limit + 1,
    });
    const { items, more } = page(rows, a.limit);
    const last = items.at(-1);
    return {
      events: items.map(eventView),
      next_cursor: more && last ? encodeCursor('events', last.seq) : null,
    };
  },
});

const CURSOR_NAME = z.string().refine((s) => /^[A-Za-z0-9._:-]{1,64}$/.test(s), {
  message: 'a cursor name is 1–64 of A-Z a-z 0-9 . _ : -',
});

/** Creates a cursor of mine, under the cap, unless it exists. */
async function ensureCursor(trx: Trx, ctx: Ctx, name: string): Promise<void> {
  const { projectId, participationId: me } = ctx;
  if ((await lockCursor(trx, projectId, me, name)) !== undefined) return;
  // No row to lock yet: serialise creations so the cap holds under concurrent first calls.
  await advisoryXactLock(trx, 'cursor-create', projectId, me);
  if ((await countCursors(trx, projectId, me)) >= MAX_CURSORS) {
    throw invalid(
      `cursor: you already have ${MAX_CURSORS} cursors; reuse one of their names (e.g. "default")`,
    );
  }
  await createCursor(trx, projectId, me, name);
}

/** The whats_new result from its statement's row (without `unread`). */
function whatsNewView(a: { cursor: string; advance: boolean }, r: WhatsNewRead) {
  const last = r.events.at(-1);
  return {
    cursor: a.cursor,
    last_seq: Number(a.advance && last ? last.seq : r.from_seq),
    events: r.events.map(eventView),
    has_more: r.more,
    digest: digestView(r),
  };
}

export const whats_new = defineTool({
  name: 'whats_new',
  core: true,
  title: "What's new",
  description: 'Events after your cursor and a digest of what awaits you; wait_seconds long-polls.',
  input: z.strictObject({
    cursor: CURSOR_NAME.default('default'),
    advance: z.boolean().default(true),
    limit: z.number().int().min(1).max(500).default(100),
    wait_seconds: z.number().int().min(0).max(60).default(0),
  }),
  // Not read-only: it advances the cursor (additive, and each call moves it further).
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  // On a cursor that exists (every call but a cursor's first), one statement does it all.
  direct: async ({ db, ctx }, a) => {
    const r = await readWhatsNew(db, ctx.projectId, ctx.participationId, a.cursor, a);
    if (a.advance && !r.found) return undefined;
    const view = whatsNewView(a, r);
    return r.unacked_count > 0 ? { ...view, unread: r.unacked_count } : view;
  },
  // A cursor's first call creates it (under a cap), then runs the same statement, in one
  // transaction; the dispatcher adds `unread` after the commit.
  handler: async ({ trx, ctx }, a) => {
    if (a.advance) await ensureCursor(trx, ctx, a.cursor);
    return whatsNewView(
      a,
      await readWhatsNew(trx, ctx.projectId, ctx.participationId, a.cursor, a),
    );
  },
  longPoll: {
    seconds: (a) => a.wait_seconds,
    idle: (result) => (result.events as unknown[]).length === 0,
  },
});
