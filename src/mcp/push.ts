import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  pushesAfter,
  undeliveredPosts,
  type FeedRow,
  type Reader,
  type StreamGrant,
} from '../db/push.js';
import { authenticate, rateLimitMessage } from '../http/auth.js';
import { sendRaw } from '../http/request.js';
import { lastEventIdOf, SseResponse } from '../http/sse.js';
import {
  sendPages,
  streamRefusal,
  type LiveStream,
  type Outgoing,
  type StreamIo,
} from '../http/streams.js';
import {
  CHANNEL_CONTENT_CHARS,
  CHANNEL_METHOD,
  leaseLostChannel,
  postChannel,
  RPC_ERROR,
  taskAssignedChannel,
  type ChannelParams,
} from './protocol.js';
import { refuseModern } from './modern-request.js';
import { checkSession, SESSION_ID, sessionHeader } from './sessions.js';
import { refuse, rpcError } from './jsonrpc.js';
import type { McpDeps } from './transport.js';
import type { EventData, EventType } from '../db/event-types.js';

// Push (spec §10): GET /mcp opens the session's server-to-client stream, and Baton writes a
// `notifications/claude/channel` on it when a post reaches the session's participation, when
// it loses a lease to a takeover after expiry, and when a task is given to it. A push records
// the post's delivery; only the agent's own ack acknowledges it.
//
// Each message's SSE id is the ledger seq of the event behind it. A stream opened with
// Last-Event-ID N replays what concerned this participation after N, then goes live; one opened
// without it first pushes the posts to me that were never delivered (newest BACKLOG of them,
// without ids: they precede the stream's position in the ledger), then an id-only event with the
// current head, then live pushes.

const PAGE = 200;
const BACKLOG = 20;

class McpPushStream implements LiveStream {
  readonly kind = 'mcp';
  readonly allTypes = false;
  from = 0;
  live = false;
  private started = false;

  constructor(
    private readonly me: Reader,
    readonly grant: StreamGrant,
    readonly sse: SseResponse,
    private readonly resumeAfter: number | undefined,
  ) {}

  get participationId(): string {
    return this.me.participationId;
  }

  async catchUp(io: StreamIo): Promise<void> {
    const projectId = this.grant.projectId;
    // `started` is set only once the starting point is known, so a failed first read is
    // simply tried again.
    if (!this.started) {
      if (this.resumeAfter === undefined) {
        const backlog = await undeliveredPosts(io.db, projectId, this.me.participationId, BACKLOG);
        const out = this.select(backlog.rows).map(({ seq: _seq, ...o }) => o);
        await io.send(this, out, false);
        this.from = backlog.head;
        this.started = true;
        this.sse.mark(this.from);
        return;
      }
      this.from = this.resumeAfter;
      this.started = true;
    }
    await sendPages(io, this, PAGE, (from) => pushesAfter(io.db, projectId, this.me, from, PAGE));
    this.sse.mark(this.from);
  }

  select(rows: readonly FeedRow[]): Outgoing[] {
    const out: Outgoing[] = [];
    for (const row of rows) {
      const push = channelNotice(row, this.me);
      if (!push) continue;
      out.push({
        seq: Number(row.seq),
        data: JSON.stringify({ jsonrpc: '2.0', method: CHANNEL_METHOD, params: push.params }),
        at: row.at,
        kind: push.kind,
        ...(push.delivers ? { delivers: push.delivers } : {}),
      });
    }
    return out;
  }
}

type NoticeKind = 'post' | 'lease_lost' | 'task_assigned';

interface Notice {
  kind: NoticeKind;
  params: ChannelParams;
  delivers?: { participationId: string; postId: string };
}

/**
 * Whether an event concerns one participation, and as which notice: a post to it, its lease
 * taken over after expiry, a task given to it by someone else. Cheap, so that streams that need
 * only the kind (subscriptions/listen) never build the notice's text.
 */
export function noticeKind(row: FeedRow, me: Reader): NoticeKind | undefined {
  // Typed, so that a case naming a type the ledger does not have fails the type check.
  const type = row.type as EventType;
  switch (type) {
    case 'post':
      return row.post_id !== null && row.recipients?.includes(me.participationId)
        ? 'post'
        : undefined;
    case 'lease_expired':
      return row.lease_id !== null && row.participation_id === me.participationId
        ? 'lease_lost'
        : undefined;
    case 'task_assigned':
    case 'task_created': {
      const owner = (row.data as Partial<EventData['task_assigned']>).owner;
      return row.task_id !== null &&
        owner === me.actor &&
        row.participation_id !== me.participationId
        ? 'task_assigned'
        : undefined;
    }
    default:
      return undefined;
  }
}

/** The push an event makes for one participation, if it concerns it. */
function channelNotice(row: FeedRow, me: Reader): Notice | undefined {
  switch (noticeKind(row, me)) {
    case 'post': {
      const postId = row.post_id as string;
      return {
        kind: 'post',
        params: postChannel({
          post_id: postId,
          from: row.actor,
          to: row.to_lane ? { lane: row.to_lane } : row.broadcast ? 'everyone' : 'you',
          subject: row.subject,
          excerpt: row.excerpt ?? '',
          longer: (row.body_length ?? 0) > CHANNEL_CONTENT_CHARS,
          ref: row.ref,
          tag: row.tag,
          action: row.action,
          data: row.post_data ? JSON.stringify(row.post_data) : null,
        }),
        delivers: { participationId: me.participationId, postId },
      };
    }
    case 'lease_lost': {
      const d = row.data as EventData['lease_expired'];
      return {
        kind: 'lease_lost',
        params: leaseLostChannel({
          lease_id: row.lease_id as string,
          surface: d.surface,
          taken_over_by: d.taken_over_by,
        }),
      };
    }
    case 'task_assigned':
      return {
        kind: 'task_assigned',
        params: taskAssignedChannel({
          task_id: row.task_id as string,
          from: row.actor,
          title: row.task_title,
          ref: row.ref,
        }),
      };
    case undefined:
      return undefined;
  }
}

/** GET /mcp: the session's push stream. */
export async function handleMcpGet(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
) {
  if (refuseModern(req, res)) return;
  const accept = req.headers.accept ?? '';
  if (!/text\/event-stream|\*\/\*/.test(accept)) {
    return refuse(
      res,
      406,
      RPC_ERROR.invalidRequest,
      'Not Acceptable: GET /mcp opens an event stream; send Accept: text/event-stream',
    );
  }
  const sessionId = sessionHeader(req);
  if (sessionId === undefined || !SESSION_ID.test(sessionId)) {
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      'Bad Request: send the Mcp-Session-Id of your session (initialize one with POST)',
    );
  }
  const resume = lastEventIdOf(req);
  if (resume === 'invalid') {
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      'Bad Request: Last-Event-ID must be an event id this stream sent',
    );
  }
  const auth = await authenticate(req, res, deps, requestId, sessionId);
  if (!auth.ok) {
    if (!auth.limited) return;
    return sendRaw(
      res,
      429,
      rpcError(null, RPC_ERROR.serverError, rateLimitMessage(auth.retryAfter)),
      {
        'retry-after': String(auth.retryAfter),
      },
    );
  }
  const refusal = checkSession(auth);
  if (refusal) return sendRaw(res, refusal.status, rpcError(null, refusal.code, refusal.message));
  const grant = { projectId: auth.ctx.projectId, tokenId: auth.row.token_id, sessionId };
  const admitted = deps.streams.admit(grant, auth.ctx.participationId);
  if (admitted !== 'ok') {
    const r = streamRefusal(admitted, {
      full: 'end sessions you no longer use',
      closing: 'reconnect with Last-Event-ID to resume',
    });
    return sendRaw(res, r.status, rpcError(null, RPC_ERROR.serverError, r.message), {
      'retry-after': String(r.retryAfter),
    });
  }
  const sse = new SseResponse(req, res, { 'mcp-session-id': sessionId });
  const me = { participationId: auth.ctx.participationId, actor: auth.ctx.actor };
  await deps.streams.open(new McpPushStream(me, grant, sse, resume));
}
