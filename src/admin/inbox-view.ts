import { z } from 'zod';
import { html, type SafeHtml } from './html.js';
import { when } from './layout.js';

// How the inbox page shows posts. It renders what read_posts returns, so a field the tool adds
// (an action flag, a JSON `data`) shows when present and nothing depends on it existing.

const POST = z.looseObject({
  post_id: z.number(),
  from: z.string(),
  to_actor: z.string().optional(),
  to_lane: z.string().optional(),
  broadcast: z.boolean().optional(),
  subject: z.string().optional(),
  body: z.string(),
  ref: z.string().optional(),
  tag: z.string().optional(),
  action: z.string().optional(),
  data: z.unknown().optional(),
  reply_to: z.number().optional(),
  thread: z.number().optional(),
  at: z.string(),
  signature: z.string().optional(),
  /** My receipt, when I am a recipient. */
  delivered: z.string().nullable().optional(),
  acked: z.string().nullable().optional(),
  /** With `sent: true`: who it was delivered to, who acked, who has not (and any other group). */
  receipts: z.record(z.string(), z.array(z.string())).optional(),
});
export type PostView = z.infer<typeof POST>;

const PAGE = z.looseObject({ posts: z.array(POST), next_cursor: z.string().nullable() });
export type PostPage = z.infer<typeof PAGE>;

/** A read_posts result, as the page reads it. */
export const postPage = (result: Record<string, unknown>): PostPage => PAGE.parse(result);

export interface ViewOpts {
  /** The inbox's path, where every link and form of a post goes. */
  base: string;
  me: string;
  csrf: SafeHtml;
  now: number;
}

/** A compose `to` value addressing the post back: its sender, or its audience when I sent it. */
export function replyAddress(p: PostView, me: string): string {
  if (p.from !== me) return `actor:${p.from}`;
  if (p.to_actor !== undefined) return `actor:${p.to_actor}`;
  if (p.to_lane !== undefined) return `lane:${p.to_lane}`;
  return 'everyone';
}

function audience(p: PostView, me: string): string {
  if (p.to_actor !== undefined) return p.to_actor === me ? 'you' : p.to_actor;
  if (p.to_lane !== undefined) return `lane ${p.to_lane}`;
  return 'everyone';
}

function ackForm(o: ViewOpts, ids: readonly number[], label: string, thread?: number) {
  return html`<form class="inline" method="post" action="${o.base}/ack">
    ${o.csrf}<input type="hidden" name="post_ids" value="${ids.join(',')}" />${
      thread ? html`<input type="hidden" name="thread" value="${thread}" />` : ''
    }<button type="submit" class="${ids.length > 1 ? 'primary' : ''}">${label}</button>
  </form>`;
}

/** One post, with what can be done with it: ack (when it waits for me), reply, open its thread. */
export function postItem(p: PostView, o: ViewOpts, inThread?: number): SafeHtml {
  const waiting = p.acked === null;
  const root = p.thread ?? p.post_id;
  const reply = new URLSearchParams({ reply: String(p.post_id), to: replyAddress(p, o.me) });
  if (inThread) reply.set('thread', String(inThread));
  const data = p.data === undefined ? undefined : JSON.stringify(p.data, null, 2);
  return html`<li class="msg${waiting ? ' unacked' : ''}" data-post="${p.post_id}">
    <div class="msg-head">
      <strong>${p.from}</strong> → ${audience(p, o.me)}
      ${p.action ? html`<span class="badge action" title="action requested">${p.action}</span>` : ''}
      <span class="muted">#${p.post_id} · ${when(new Date(p.at), o.now)}</span>
    </div>
    ${p.subject ? html`<div class="msg-subject">${p.subject}</div>` : ''}
    <div class="msg-body">${p.body}</div>
    ${data ? html`<pre class="msg-data">${data}</pre>` : ''}
    <div class="msg-meta">
      ${p.reply_to ? html`<span>reply to <a href="${o.base}?thread=${root}">#${p.reply_to}</a></span>` : ''}
      ${p.ref ? html`<span>ref <code>${p.ref}</code></span>` : ''}
      ${p.tag ? html`<span class="badge">${p.tag}</span>` : ''}
      ${p.signature ? html`<span class="badge on" title="signed by its sender">signed</span>` : ''}
    </div>
    ${p.receipts ? receipts(p.receipts) : ''}
    <div class="msg-actions">
      ${
        waiting
          ? ackForm(o, [p.post_id], 'Acknowledge', inThread)
          : p.acked
            ? html`<span class="badge on">acked</span>`
            : ''
      }
      <a href="${o.base}?${reply.toString()}#compose">Reply</a>
      ${inThread ? '' : html`<a href="${o.base}?thread=${root}">Thread</a>`}
    </div>
  </li>`;
}

/** Each recipient of a post I sent, and where it stands: acked, delivered, or not yet. */
function receipts(r: Record<string, string[]>): SafeHtml {
  const acked = new Set(r.acked ?? []);
  const delivered = new Set(r.delivered ?? []);
  const rows: [string, string][] = [];
  for (const a of acked) rows.push([a, 'acked']);
  for (const a of delivered) if (!acked.has(a)) rows.push([a, 'delivered']);
  for (const a of r.not_acked ?? []) if (!delivered.has(a)) rows.push([a, 'not yet']);
  // Groups the tool may add (such as recipients who can no longer read) show under their name.
  for (const [group, actors] of Object.entries(r)) {
    if (['acked', 'delivered', 'not_acked'].includes(group)) continue;
    for (const a of actors) rows.push([a, group.replace(/_/g, ' ')]);
  }
  if (rows.length === 0) return html`<p class="muted receipts">Nobody received this post.</p>`;
  const kind = (s: string) => (s === 'acked' ? 'on' : s === 'delivered' ? '' : 'warn');
  return html`<ul class="receipts">
    ${rows.map(
      ([actor, state]) =>
        html`<li data-recipient="${actor}" data-state="${state}">
          ${actor} <span class="badge ${kind(state)}">${state}</span>
        </li>`,
    )}
  </ul>`;
}

/** The inbox: posts waiting for an ack first, then the acknowledged ones; newest first in each. */
export function inboxList(
  waiting: PostView[],
  recent: PostPage,
  o: ViewOpts,
  older: string | undefined,
): SafeHtml {
  // Each post once: those listed as waiting are left out of the rest (on older pages, none are).
  const listed = new Set(waiting.map((p) => p.post_id));
  const rest = recent.posts.filter((p) => !listed.has(p.post_id));
  if (waiting.length === 0 && rest.length === 0) {
    return html`<p class="empty">
      Nothing for you yet: posts to you, your lane and everyone land here.
    </p>`;
  }
  const next = recent.next_cursor
    ? `${o.base}?older=${encodeURIComponent(recent.next_cursor)}`
    : '';
  return html`${
      waiting.length > 0
        ? html`<div class="row-between">
            <p><strong>${waiting.length}</strong> waiting for your acknowledgement</p>
            ${ackForm(
              o,
              waiting.map((p) => p.post_id),
              waiting.length > 1 ? `Acknowledge all ${waiting.length}` : 'Acknowledge it',
            )}
          </div>`
        : html`<p class="muted">All caught up.</p>`
    }
    <ol class="msgs" id="inbox-list">
      ${waiting.map((p) => postItem(p, o))}${rest.map((p) => postItem(p, o))}
    </ol>
    ${older ? html`<p><a href="${o.base}">Newest posts</a></p>` : ''}
    ${next ? html`<p><a id="inbox-older" href="${next}">Older posts</a></p>` : ''}`;
}

export function sentList(sent: PostPage, o: ViewOpts, older: string | undefined): SafeHtml {
  if (sent.posts.length === 0) return html`<p class="empty">You have sent nothing yet.</p>`;
  const next = sent.next_cursor
    ? `${o.base}?sent_older=${encodeURIComponent(sent.next_cursor)}#sent`
    : '';
  return html`<ol class="msgs">
      ${sent.posts.map((p) => postItem(p, o))}
    </ol>
    ${older ? html`<p><a href="${o.base}#sent">Newest sent</a></p>` : ''}
    ${next ? html`<p><a href="${next}">Older sent posts</a></p>` : ''}`;
}

/** A whole thread, oldest first, as a conversation. */
export function threadList(thread: PostPage, o: ViewOpts, root: number): SafeHtml {
  const posts = [...thread.posts].reverse();
  return html`<ol class="msgs thread">
      ${posts.map((p) => postItem(p, o, root))}
    </ol>
    ${
      thread.next_cursor
        ? html`<p class="muted">Showing the latest ${posts.length} posts of this thread.</p>`
        : ''
    }`;
}
