import { setTimeout as sleep } from 'node:timers/promises';
import { sessionAlive } from '../auth/sessions.js';
import { watchProject } from '../db/notify.js';
import { abortOnDisconnect } from '../http/request.js';
import { html, raw, type SafeHtml } from './html.js';
import { securityHeaders } from './layout.js';
import type { OwnerCall } from './types.js';

// The live pages (the board, the inbox): Server-Sent Events that send a page's sections, rendered
// by the same functions as the page, whenever the project's ledger moves (woken by the ledger
// listener, so commits made through any Baton process count), at most every MIN_GAP_MS; bursts
// of events coalesce into one update. Between events it re-renders every TICK_MS (presence and
// expiry times move without events) and checks that the session still lives, so a logout
// elsewhere ends the stream. It holds no database connection while it waits.

const TICK_MS = 15_000;
const MIN_GAP_MS = 150;
/** Live pages one admin session may hold open on this process (a tab each). */
export const LIVE_STREAMS_PER_SESSION = 16;

export interface Sections {
  seq: string;
  /** Element id suffix → markup; the page has an element `<event>-<name>` for each. */
  sections: Record<string, string>;
}

const open = new Map<string, number>();

export async function streamSections(
  c: OwnerCall,
  projectId: string,
  /** The SSE event name, and the prefix of the page's element ids. */
  event: 'board' | 'inbox',
  load: () => Promise<Sections | undefined>,
): Promise<void> {
  const { res } = c;
  const held = open.get(c.session.key) ?? 0;
  if (held >= LIVE_STREAMS_PER_SESSION) {
    res.writeHead(429, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '30' });
    res.end(`at most ${LIVE_STREAMS_PER_SESSION} live pages per sign-in; close some tabs\n`);
    return;
  }
  open.set(c.session.key, held + 1);
  // Watch before the first read, so nothing committed in between is missed.
  const watch = watchProject(c.deps.listener, projectId);
  const signal = abortOnDisconnect(res)();
  res.writeHead(200, {
    ...securityHeaders(c.nonce),
    'content-type': 'text/event-stream; charset=utf-8',
    'x-accel-buffering': 'no',
  });
  res.write('retry: 2000\n\n');
  let shown: Record<string, string> | undefined;
  let sentAt = 0;
  let checkedAt = Date.now();

  const end = (reason: string) => res.write(`event: end\ndata: ${reason}\n\n`);
  const send = async (): Promise<boolean> => {
    const loaded = await load();
    if (!loaded) {
      end('this project no longer exists');
      return false;
    }
    const { seq, sections } = loaded;
    const changed = Object.fromEntries(
      Object.entries(sections).filter(([k, v]) => shown?.[k] !== v),
    );
    shown = sections;
    sentAt = Date.now();
    if (Object.keys(changed).length === 0) res.write(': unchanged\n\n');
    else
      res.write(
        `event: ${event}\nid: ${seq}\ndata: ${JSON.stringify({ seq, sections: changed })}\n\n`,
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
          end('signed out; sign in again to see live updates');
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
        c.deps.log.warn({ err, reqId: c.requestId }, `${event} update failed`);
        res.write(': update failed; retrying\n\n');
      }
    }
  } finally {
    watch.close();
    const left = (open.get(c.session.key) ?? 1) - 1;
    if (left > 0) open.set(c.session.key, left);
    else open.delete(c.session.key);
    res.end();
  }
}

/** The badge that says whether the page is live; it also names the page's stream. */
export function liveBadge(stream: string): SafeHtml {
  return html`<span id="live" class="badge live warn" data-stream="${stream}">connecting…</span>`;
}

/**
 * The page side: swaps in the sections the stream named by the live badge sends. Markup comes
 * from the server's escaping templates, and the page's CSP lets no script but this one run.
 */
export function liveScript(event: 'board' | 'inbox'): SafeHtml {
  return raw(`
(() => {
  const live = document.getElementById('live');
  const show = (text, kind) => { live.textContent = text; live.className = 'badge live ' + kind; };
  const source = new EventSource(live.dataset.stream);
  source.addEventListener('${event}', (e) => {
    const data = JSON.parse(e.data);
    for (const [name, markup] of Object.entries(data.sections)) {
      const el = document.getElementById('${event}-' + name);
      if (el) el.innerHTML = markup;
    }
    document.body.dataset.seq = data.seq;
    show('live', 'on');
  });
  source.addEventListener('end', (e) => {
    source.close();
    show(e.data || 'ended; reload the page', 'off');
  });
  source.onopen = () => show('live', 'on');
  source.onerror = () => show(source.readyState === 2 ? 'disconnected; reload the page' : 'reconnecting…', 'warn');
})();
`);
}
