// The session-start context: who I am, what waits for me, and what the ledger holds after my
// cursor, as short text for the model. Parts of the digest this file does not know yet are shown
// as compact JSON, so a newer server's digest is never dropped. Every line passes oneLine: what
// the server says (a ref, a subject, a holder's name) cannot carry escape sequences or forge lines.
import { oneLine } from './text.mjs';

/** Claude Code caps hook context at about 10,000 characters; stay under it. */
const MAX_CHARS = 9000;
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);
const isEmpty = (v) =>
  v === null ||
  v === undefined ||
  v === 0 ||
  (Array.isArray(v) && v.length === 0) ||
  (typeof v === 'object' && !Array.isArray(v) && (v.count === 0 || Object.keys(v).length === 0));

function posts(part) {
  const lines = [
    `- ${part.count} unacknowledged post(s): read them with read_posts, and ack each one you act on.`,
  ];
  for (const p of Array.isArray(part.latest) ? part.latest : []) {
    const what = p.subject
      ? `"${clip(String(p.subject), 120)}"`
      : `"${clip(String(p.excerpt ?? ''), 120)}"`;
    const ref = p.ref ? ` (ref ${p.ref})` : '';
    lines.push(`  - post ${p.post_id} from ${p.from}: ${what}${ref}`);
  }
  return lines;
}

function waiting(digest) {
  const lines = [];
  for (const [key, value] of Object.entries(digest ?? {})) {
    if (isEmpty(value)) continue;
    if (key === 'unacked_posts' && typeof value === 'object') lines.push(...posts(value));
    else lines.push(`- ${key}: ${clip(JSON.stringify(value), 800)}`);
  }
  return lines;
}

function eventLine(e) {
  const parts = [
    `${e.seq} ${e.type} by ${e.actor}`,
    String(e.at ?? '')
      .slice(0, 16)
      .replace('T', ' '),
  ];
  if (e.sequence) parts.push(`sequence ${e.sequence}`);
  if (e.ref) parts.push(`ref ${clip(String(e.ref), 120)}`);
  if (e.tag) parts.push(`tag ${e.tag}`);
  for (const id of ['post_id', 'task_id', 'lease_id'])
    if (e[id] !== undefined) parts.push(`${id} ${e[id]}`);
  const data = Object.entries(e.data ?? {}).filter(([, v]) => v !== null && v !== undefined);
  if (data.length > 0) parts.push(clip(JSON.stringify(Object.fromEntries(data)), 200));
  return oneLine(`- ${parts.join(' · ')}`);
}

export function renderContext(me, news) {
  const where = `project "${me.project}"${me.lane ? `, lane ${me.lane}` : ''}`;
  const out = [`Baton at session start: you are ${me.actor} in ${where}.`, ''];
  const wait = waiting(news.digest);
  out.push(...(wait.length > 0 ? ['Waiting for you:', ...wait] : ['Nothing is waiting for you.']));
  out.push('');
  const events = Array.isArray(news.events) ? news.events : [];
  if (events.length === 0) {
    out.push(`Nothing new in the ledger after your cursor \`${news.cursor}\`.`);
    return out.map(oneLine).join('\n');
  }
  const first = events[0].seq;
  const last = events[events.length - 1].seq;
  out.push(
    `The ledger after your cursor \`${news.cursor}\` (events ${first}–${last}, oldest first):`,
  );
  const closing =
    'These are shown without moving your cursor: call whats_new to mark them read' +
    (news.has_more ? ' and to see the events after them.' : '.');
  let used = out.join('\n').length + closing.length + 100;
  let shown = 0;
  for (const e of events) {
    const line = eventLine(e);
    if (used + line.length + 1 > MAX_CHARS) break;
    out.push(line);
    used += line.length + 1;
    shown++;
  }
  if (shown < events.length) out.push(`- … and ${events.length - shown} more not shown here.`);
  out.push(closing);
  return out.map(oneLine).join('\n');
}
