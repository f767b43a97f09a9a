import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  pushesAfter,
  undeliveredPosts,
  type FeedRow,
  type Reader,
  type StreamGrant,
} from '../db/push.js';
import { sendRaw } from '../http/request.js';
import { SseResponse } from '../http/sse.js';
import {
  sendPages,
  streamRefusal,
  type LiveStream,
  type Outgoing,
  type StreamIo,
} from '../http/streams.js';
import { paramsOf, refuse, rpcError, rpcResult, type JsonRpcMessage } from './jsonrpc.js';
import { noticeKind } from './push.js';
import { isResourceUri } from './resources.js';
import { META, MODERN_METHOD, RESOURCE_URI, RPC_ERROR } from './protocol.js';
import type { Authenticated, McpDeps } from './transport.js';

// subscriptions/listen (2026-07-28): push for modern clients. The response is an SSE stream that
// first acknowledges which subscriptions it honours, then carries notifications/resources/updated
// whenever something new concerns the caller: a post to it (baton://inbox), one of its leases
// taken over after expiry (baton://leases), a task given to it (baton://tasks). The client then
// reads the resource; reading the inbox records delivery, as a channel push does in the 2025 era.
//
// The stream joins the same per-project groups as every other stream (http/streams.ts), so a
// change committed through any process reaches it through LISTEN/NOTIFY, and the same grant
// checks end it when its token is revoked. It is not resumable (the revision dropped SSE ids): a
// stream that opens says at once if the inbox already holds undelivered posts.

/** URIs one listen request may name. */
const MAX_SUBSCRIPTIONS = 16;
/** A listen request's id, which names the subscription in every notification it carries. */
const MAX_SUBSCRIPTION_ID_CHARS = 200;
const PAGE = 200;

const URI_OF = {
  post: RESOURCE_URI.inbox,
  lease_lost: RESOURCE_URI.leases,
  task_assigned: RESOURCE_URI.tasks,
} as const;

class ListenStream implements LiveStream {
  readonly kind = 'listen';
  readonly allTypes = false;
  from = 0;
  live = false;
  private started = false;

  constructor(
    private readonly me: Reader,
    readonly grant: StreamGrant,
    readonly sse: SseResponse,
    private readonly subscriptionId: string | number,
    private readonly uris: ReadonlySet<string>,
  ) {}

  get participationId(): string {
    return this.me.participationId;
  }

  async catchUp(io: StreamIo): Promise<void> {
    const projectId = this.grant.projectId;
    if (!this.started) {
      const waiting = await undeliveredPosts(io.db, projectId, this.me.participationId, 1);
      this.from = waiting.head;
      this.started = true;
      const first = waiting.rows[0];
      if (first && this.uris.has(RESOURCE_URI.inbox)) {
        await io.send(this, [this.updated(RESOURCE_URI.inbox, first.at)], false);
      }
      return;
    }
    await sendPages(io, this, PAGE, (from) => pushesAfter(io.db, projectId, this.me, from, PAGE));
  }

  /** One update per resource that these events changed for this caller, however many they are. */
  select(rows: readonly FeedRow[]): Outgoing[] {
    const changed = new Map<string, Date>();
    for (const row of rows) {
      const kind = noticeKind(row, this.me);
      if (!kind) continue;
      const uri = URI_OF[kind];
      if (this.uris.has(uri) && !changed.has(uri)) changed.set(uri, row.at);
    }
    return [...changed].map(([uri, at]) => this.updated(uri, at));
  }

  /** On shutdown: the listen request's result, which tells the client the end was orderly. */
  farewell(): void {
    const result = {
      resultType: 'complete',
      _meta: { [META.subscriptionId]: this.subscriptionId },
    };
    this.sse.send({ data: rpcResult(this.subscriptionId, JSON.stringify(result)) });
  }

  private updated(uri: string, at: Date): Outgoing {
    const params = { uri, _meta: { [META.subscriptionId]: this.subscriptionId } };
    const data = JSON.stringify({ jsonrpc: '2.0', method: MODERN_METHOD.resourceUpdated, params });
    return { data, at, kind: 'resource_updated' };
  }
}

/** The subscriptions asked for, or why they cannot be. */
function requested(m: JsonRpcMessage): string[] | string {
  const filter = paramsOf(m).notifications;
  if (typeof filter !== 'object' || filter === null || Array.isArray(filter)) {
    return 'params.notifications must be an object, e.g. {"resourceSubscriptions":["baton://inbox"]}';
  }
  const uris = (filter as Record<string, unknown>).resourceSubscriptions ?? [];
  if (
    !Array.isArray(uris) ||
    uris.length > MAX_SUBSCRIPTIONS ||
    !uris.every((u) => typeof u === 'string')
  ) {
    return `params.notifications.resourceSubscriptions must be a list of at most ${MAX_SUBSCRIPTIONS} URIs`;
  }
  return uris as string[];
}

export async function openListen(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  auth: Authenticated,
  m: JsonRpcMessage,
): Promise<void> {
  const id = m.id as string | number;
  if (typeof id === 'string' && id.length > MAX_SUBSCRIPTION_ID_CHARS) {
    // The id is kept for the life of the stream and repeated in every notification.
    return refuse(
      res,
      400,
      RPC_ERROR.invalidRequest,
      `Invalid Request: a subscriptions/listen id is at most ${MAX_SUBSCRIPTION_ID_CHARS} characters; send a shorter one`,
    );
  }
  const asked = requested(m);
  if (typeof asked === 'string') {
    return sendRaw(res, 400, rpcError(id, RPC_ERROR.invalidParams, `Invalid params: ${asked}`));
  }
  if (!/text\/event-stream|\*\/\*/.test(req.headers.accept ?? '')) {
    return sendRaw(
      res,
      406,
      rpcError(
        id,
        RPC_ERROR.invalidRequest,
        'Not Acceptable: subscriptions/listen answers with an event stream; accept text/event-stream',
      ),
    );
  }
  const grant = { projectId: auth.ctx.projectId, tokenId: auth.row.token_id, sessionId: null };
  const admitted = deps.streams.admit(grant, auth.ctx.participationId);
  if (admitted !== 'ok') {
    const r = streamRefusal(admitted, { full: 'close some', closing: 'listen again' });
    return sendRaw(res, r.status, rpcError(id, RPC_ERROR.serverError, r.message), {
      'retry-after': String(r.retryAfter),
    });
  }
  // Only the resources that exist are honoured; list-change notifications are never sent (the
  // catalogue and the resource list are fixed for the life of a process).
  const honoured = [...new Set(asked.filter(isResourceUri))];
  const sse = new SseResponse(req, res);
  const ack = {
    jsonrpc: '2.0',
    method: MODERN_METHOD.acknowledged,
    params: {
      _meta: { [META.subscriptionId]: id },
      notifications: { resourceSubscriptions: honoured },
    },
  };
  sse.send({ data: JSON.stringify(ack) });
  const me = { participationId: auth.ctx.participationId, actor: auth.ctx.actor };
  await deps.streams.open(new ListenStream(me, grant, sse, id, new Set(honoured)));
}
