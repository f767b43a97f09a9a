import type { ServerResponse } from 'node:http';
import { describeSchemaState, schemaState } from '../db/migrate.js';
import type { Db } from '../db/pool.js';
import { sendJson } from './request.js';

// /healthz: the process answers. /readyz: the database answers and its schema is the one this
// Baton knows, so a load balancer stops sending traffic while PostgreSQL is away and resumes
// once it is back, without a restart.

const READY_TIMEOUT_MS = 2_000;

export function handleHealthz(res: ServerResponse): void {
  sendJson(res, 200, { status: 'ok' });
}

export async function handleReadyz(res: ServerResponse, db: Db): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error('the database did not answer within 2 s')),
      READY_TIMEOUT_MS,
    );
  });
  try {
    const state = await Promise.race([schemaState(db), timeout]);
    if (state.state === 'current') return sendJson(res, 200, { status: 'ready' });
    sendJson(res, 503, { status: 'not_ready', reason: describeSchemaState(state) });
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
