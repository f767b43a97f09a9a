import type { ServerResponse } from 'node:http';
import { describeSchemaState, schemaState } from '../db/migrate.js';
import type { LedgerListener } from '../db/notify.js';
import type { Db } from '../db/pool.js';
import { sendJson } from './request.js';

// /healthz: the process answers. /readyz: the database answers, its schema is the one this
// Baton knows, and the ledger listener hears (src/db/hearing.ts), so a load balancer stops
// sending traffic while PostgreSQL is away or push is deaf, and resumes without a restart.

const READY_TIMEOUT_MS = 2_000;

export function handleHealthz(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

export async function handleReadyz(
  res: ServerResponse,
  db: Db,
  listener: Pick<LedgerListener, 'problem'>,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the database did not answer within 2 s')),
      READY_TIMEOUT_MS,
    );
  });
  try {
    const state = await Promise.race([schemaState(db), timeout]);
    if (state.state !== 'current') {
      return sendJson(res, 503, { status: 'not_ready', reason: describeSchemaState(state) });
    }
    const problem = listener.problem;
    if (problem !== undefined) return sendJson(res, 503, { status: 'not_ready', reason: problem });
    sendJson(res, 200, { status: 'ready' });
  } catch (err) {
    const reason =
      err instanceof Error && /did not answer/.test(err.message)
        ? err.message
        : 'the database is unreachable';
    sendJson(res, 503, { status: 'not_ready', reason });
  } finally {
    clearTimeout(timer);
  }
}
