import type { IncomingMessage, ServerResponse } from 'node:http';
import { AppError } from '../errors.js';
import { feedAfter, ledgerHead, type FeedRow, type StreamGrant } from '../db/push.js';
import type { McpDeps } from '../mcp/transport.js';
import { eventView } from '../tools/ledger.js';
import { authenticate, rateLimited } from '../http/auth.js';
import { sendError } from '../http/request.js';
import { lastEventIdOf, seqParam, SseResponse } from '../http/sse.js';
import {
  sendPages,
  streamRefusal,
  type LiveStream,
  type Outgoing,
  type StreamIo,
} from '../http/streams.js';

// GET /api/v1/events: the caller's project ledger as Server-Sent Events, for dashboards and
// scripts. One SSE event per ledger event: `id:` its seq, `event:` its type, `data:` the event as
// query_events shows it. It starts after `?after=<seq>` (or at the current head), and a client
// reconnecting with Last-Event-ID resumes right after the last event it received.

const PAGE = 500;

class LedgerStream implements LiveStream {
  readonly kind = 'events';
  readonly allTypes = true;
  live = false;
  private started = false;

  constructor(
    readonly participationId: string,
    readonly grant: StreamGrant,
    readonly sse: SseResponse,
    public from: number,
    private readonly fromHead: boolean,
  ) {}

  async catchUp(io: StreamIo): Promise<void> {
    if (!this.started && this.fromHead) {
      this.from = await ledgerHead(io.db, this.grant.projectId);
      this.started = true;
      this.sse.mark(this.from);
      return;
    }
    this.started = true;
    await sendPages(io, this, PAGE, (from) =>
      feedAfter(io.db, this.grant.projectId, from, { watchers: [], allTypes: true, limit: PAGE }),
    );
    this.sse.mark(this.from);
  }

  select(rows: readonly FeedRow[]): Outgoing[] {
    return rows.map((r) => ({
      seq: Number(r.seq),
      event: r.type,
      data: JSON.stringify(eventView(r)),
      at: r.at,
      kind: 'event',
    }));
  }
}

export async function handleEvents(
  req: IncomingMessage,
  res: ServerResponse,
  deps: McpDeps,
  requestId: string,
): Promise<void> {
  if (req.method !== 'GET') {
    return sendError(res, new AppError('invalid_argument', 'use GET /api/v1/events'), {
      allow: 'GET',
    });
  }
  const q = req.url?.indexOf('?') ?? -1;
  const after = q < 0 ? null : new URLSearchParams(req.url?.slice(q + 1)).get('after');
  const afterSeq = after === null ? undefined : seqParam(after);
  if (after !== null && afterSeq === undefined) {
    return sendError(
      res,
      new AppError('invalid_argument', 'after must be a ledger seq (a whole number, 0 for all)'),
    );
  }
  const resume = lastEventIdOf(req);
  if (resume === 'invalid') {
    return sendError(
      res,
      new AppError('invalid_argument', 'Last-Event-ID must be the id of an event this stream sent'),
    );
  }
  const auth = await authenticate(req, res, deps, requestId);
  if (!auth.ok) return auth.limited ? sendError(res, rateLimited(auth.retryAfter)) : undefined;
  const grant = { projectId: auth.ctx.projectId, tokenId: auth.row.token_id, sessionId: null };
  const admitted = deps.streams.admit(grant, auth.ctx.participationId);
  if (admitted !== 'ok') {
    const r = streamRefusal(admitted, { full: 'close some', closing: 'reconnect to resume' });
    return sendError(res, new AppError(r.code, r.message, { retry_after_seconds: r.retryAfter }));
  }
  // Last-Event-ID wins over ?after: an EventSource reconnects to the same URL with it.
  const start = resume ?? afterSeq;
  const sse = new SseResponse(req, res);
  await deps.streams.open(
    new LedgerStream(auth.ctx.participationId, grant, sse, start ?? 0, start === undefined),
  );
}
