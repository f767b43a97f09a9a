import { setTimeout as sleep } from 'node:timers/promises';
import { sessionAlive } from '../auth/sessions.js';
import { watchProject } from '../db/notify.js';
import { abortOnDisconnect } from '../http/request.js';
import { loadSnapshot, type Snapshot } from './board.js';
import { securityHeaders } from './layout.js';
import { requireProject } from './project-page.js';
import type { OwnerCall } from './types.js';

// The board's Server-Sent Events: a snapshot at once, then the sections that changed whenever
// the project's ledger moves (woken by the ledger listener, so commits made through any Baton
// process count), at most every MIN_GAP_MS; bursts of events coalesce into one update. Between
// events it re-renders every TICK_MS (presence and expiry times move without events) and checks
// that the session still lives, so a logout elsewhere ends the stream. It holds no database
// connection while it waits.

const TICK_MS = 15_000;
const MIN_GAP_MS = 150;

export async function boardEvents(c: OwnerCall): Promise<void> {
  const project = await requireProject(c);
  const { res } = c;
  // Watch before the first read, so nothing committed in between is missed.
  const watch = watchProject(c.deps.listener, project.id);
  const signal = abortOnDisconnect(res)();
  res.writeHead(200, {
    ...securityHeaders(c.nonce),
    'content-type': 'text/event-stream; charset=utf-8',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  let shown: Snapshot['sections'] | undefined;
  let sentAt = 0;
  let checkedAt = Date.now();

  const end = (reason: string) => res.write(`event: end\ndata: ${reason}\n\n`);
  const send = async (): Promise<boolean> => {
    const loaded = await loadSnapshot(c.deps.db, c.session.ownerId, project.id);
    if (!loaded) {
      end('this project no longer exists');
      return false;
    }
    const { seq, sections } = loaded.snapshot;
    const changed = Object.fromEntries(
      Object.entries(sections).filter(([k, v]) => shown?.[k as keyof typeof sections] !== v),
    );
    shown = sections;
    sentAt = Date.now();
    if (Object.keys(changed).length === 0) res.write(': unchanged\n\n');
    else
      res.write(
        `event: board\nid: ${seq}\ndata: ${JSON.stringify({ seq, sections: changed })}\n\n`,
      );
    return true;
  };

  try {
    if (!(await send())) return;
    while (!signal.aborted) {
      const outcome = await watch.next(TICK_MS, signal);
      if (outcome === 'closed' || outcome === 'aborted') break;
      if (outcome === 'timeout' || Date.now() - checkedAt >= TICK_MS) {
        checkedAt = Date.now();
        if (!(await sessionAlive(c.deps.db, c.session.key))) {
          end('signed out; sign in again to watch the board');
          break;
        }
      }
      const wait = sentAt + MIN_GAP_MS - Date.now();
      if (wait > 0) await sleep(wait, undefined, { signal }).catch(() => undefined);
      if (signal.aborted) break;
      try {
        if (!(await send())) break;
      } catch (err) {
        // The database may be away for a moment; the next wake-up or tick tries again.
        c.deps.log.warn({ err, reqId: c.requestId }, 'board update failed');
        res.write(': update failed; retrying\n\n');
      }
    }
  } finally {
    watch.close();
    res.end();
  }
}
