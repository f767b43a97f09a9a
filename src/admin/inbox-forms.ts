import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { invalid } from '../errors.js';
import { post } from '../tools/handoffs.js';
import { ack } from '../tools/inbox.js';
import { register } from '../tools/presence.js';
import type { RosterEntry } from '../db/admin.js';
import { fields, optional } from './forms.js';
import { html, type SafeHtml } from './html.js';
import { csrfInput, redirect } from './layout.js';
import { inboxPath, requireProject } from './project-page.js';
import { act, selfIn } from './self.js';
import type { OwnerCall } from './types.js';

// The inbox's forms: compose (a new post or a reply), acknowledge, and my lane. Each parses only
// the form's shape and hands the arguments to the tool (post, ack, register) through the
// dispatcher, which checks them exactly as it checks an MCP client's.

const LABELS = {
  to: 'To',
  subject: 'Subject',
  body: 'Message',
  ref: 'Ref',
  tag: 'Tag',
  reply_to: 'Reply to',
  post_ids: 'Posts',
  lane: 'Lane',
  status: 'Status',
};

/** A post number as a form or a URL carries it. */
export const ID_TEXT = z.string().regex(/^[1-9][0-9]{0,17}$/, 'must be a post number');
const POST_NUMBER = ID_TEXT.transform(Number);

const COMPOSE = z.object({
  to: z.string().max(200),
  subject: optional(z.string()),
  body: z.string().transform((s) => s.replace(/\r\n?/g, '\n')),
  ref: optional(z.string()),
  tag: optional(z.string()),
  reply_to: optional(POST_NUMBER),
  thread: optional(POST_NUMBER),
  idempotency_key: optional(z.string()),
});

/** The compose form's "to": everyone, `lane:<lane>` or `actor:<handle/label>`. */
function address(to: string): Record<string, unknown> {
  if (to === 'everyone') return { broadcast: true };
  if (to.startsWith('lane:')) return { to_lane: to.slice(5) };
  if (to.startsWith('actor:')) return { to_actor: to.slice(6) };
  throw invalid('To: choose a participant, a lane or everyone');
}

/** Back to the page the form was on (a thread, or the inbox), with a fixed confirmation. */
function back(c: OwnerCall, projectId: string, thread: number | undefined, done: string) {
  const query = thread ? `?thread=${thread}&done=${done}` : `?done=${done}`;
  redirect(c.res, `${inboxPath({ id: projectId })}${query}`);
}

async function postForm(c: OwnerCall): Promise<void> {
  const project = await requireProject(c);
  const f = fields(COMPOSE, c.form, LABELS);
  const ctx = await selfIn(c, project);
  const result = await act(c, ctx, post, {
    ...address(f.to),
    subject: f.subject,
    body: f.body,
    ref: f.ref,
    tag: f.tag,
    reply_to: f.reply_to,
    idempotency_key: f.idempotency_key,
  });
  const heard = Array.isArray(result.recipients) && result.recipients.length > 0;
  back(c, project.id, f.thread, heard ? 'posted' : 'posted-unheard');
}

const ACK = z.object({
  post_ids: z
    .string()
    .transform((s) => s.split(','))
    .pipe(z.array(POST_NUMBER).min(1).max(100, 'at most 100 at once')),
  thread: optional(POST_NUMBER),
});

async function ackForm(c: OwnerCall): Promise<void> {
  const project = await requireProject(c);
  const f = fields(ACK, c.form, LABELS);
  const ctx = await selfIn(c, project);
  await act(c, ctx, ack, { post_ids: f.post_ids });
  back(c, project.id, f.thread, 'acked');
}

const LANE_FORM = z.object({ lane: z.string().max(200), status: optional(z.string()) });

async function laneForm(c: OwnerCall): Promise<void> {
  const project = await requireProject(c);
  const f = fields(LANE_FORM, c.form, LABELS);
  const ctx = await selfIn(c, project);
  await act(c, ctx, register, { lane: f.lane, status: f.status });
  back(c, project.id, undefined, 'lane-set');
}

export const INBOX_FORMS = { postForm, ackForm, laneForm };

export interface Draft {
  to?: string;
  subject?: string;
  body?: string;
  ref?: string;
  tag?: string;
  reply_to?: string;
  thread?: string;
  idempotency_key?: string;
}

/** What the compose form shows: a refused form's values again, or a reply's address. */
export function draftOf(c: OwnerCall): Draft {
  const from = c.form.has('body') ? c.form : c.url.searchParams;
  const pick = (k: string) => from.get(k) ?? undefined;
  const reply = pick('reply_to') ?? pick('reply');
  return {
    to: pick('to'),
    subject: pick('subject'),
    body: pick('body'),
    ref: pick('ref'),
    tag: pick('tag'),
    reply_to: reply && ID_TEXT.safeParse(reply).success ? reply : undefined,
    thread: pick('thread'),
    idempotency_key: pick('idempotency_key'),
  };
}

/** The compose form: to a participant, a lane or everyone; in a thread when replying. */
export function composeForm(
  c: OwnerCall,
  base: string,
  d: Draft,
  choices: { me: string; roster: RosterEntry[]; lanes: string[] },
): SafeHtml {
  const actors = choices.roster
    .map((r) => `${r.handle}/${r.label}`)
    .filter((a) => a !== choices.me);
  const to = d.to ?? 'everyone';
  const known = new Set(['everyone', ...choices.lanes.map((l) => `lane:${l}`)]);
  for (const a of actors) known.add(`actor:${a}`);
  const option = (value: string, text: string) =>
    html`<option value="${value}" ${value === to ? html` selected` : ''}>${text}</option>`;
  // An idempotency key per form: sending it twice (a double click, a resent form) posts once.
  const key = d.idempotency_key ?? `web-${randomBytes(12).toString('base64url')}`;
  const thread = d.thread && ID_TEXT.safeParse(d.thread).success ? d.thread : undefined;
  return html`<section class="card" id="compose">
    <h2>${d.reply_to ? `Reply to #${d.reply_to}` : 'New post'}</h2>
    <form class="stack" method="post" action="${base}/post">
      ${csrfInput(c.session)}
      <input type="hidden" name="idempotency_key" value="${key}" />
      ${d.reply_to ? html`<input type="hidden" name="reply_to" value="${d.reply_to}" />` : ''}
      ${thread ? html`<input type="hidden" name="thread" value="${thread}" />` : ''}
      <label
        >To
        <select name="to">
          ${known.has(to) ? '' : option(to, to.replace(/^(actor|lane):/, ''))}
          ${option('everyone', 'Everyone in the project')}
          ${
            choices.lanes.length
              ? html`<optgroup label="Lanes">
                  ${choices.lanes.map((l) => option(`lane:${l}`, `lane ${l}`))}
                </optgroup>`
              : ''
          }
          ${
            actors.length
              ? html`<optgroup label="Participants">
                  ${actors.map((a) => option(`actor:${a}`, a))}
                </optgroup>`
              : ''
          }
        </select></label
      >
      <label>Subject <input name="subject" maxlength="200" value="${d.subject ?? ''}" /></label>
      <label
        >Message
        <textarea name="body" required maxlength="16000" rows="5">${d.body ?? ''}</textarea>
      </label>
      <div class="row">
        <label
          >Ref
          <input name="ref" maxlength="500" placeholder="PR, commit, file" value="${d.ref ?? ''}"
        /></label>
        <label>Tag <input name="tag" maxlength="64" size="12" value="${d.tag ?? ''}" /></label>
      </div>
      <div class="row">
        <button class="primary" type="submit">Send</button>
        ${d.reply_to ? html`<a href="${base}">Back to the inbox</a>` : ''}
      </div>
    </form>
  </section>`;
}

/** Who I am here, and the form that sets my lane (a lane post reaches those in it when sent). */
export function selfCard(
  c: OwnerCall,
  base: string,
  me: { actor: string; lane: string | null },
  lanes: string[],
): SafeHtml {
  return html`<section class="card" id="me">
    <p>
      You take part as <strong id="self-actor">${me.actor}</strong>
      <span class="badge">human</span>
      ${me.lane ? html`in lane <strong>${me.lane}</strong>` : html`<span class="muted">in no lane</span>`}
    </p>
    <form class="row" method="post" action="${base}/lane">
      ${csrfInput(c.session)}
      <label
        >Lane
        <input
          name="lane"
          required
          maxlength="64"
          size="14"
          list="inbox-lanes"
          value="${me.lane ?? ''}"
      /></label>
      <datalist id="inbox-lanes">
        ${lanes.map((l) => html`<option value="${l}"></option>`)}
      </datalist>
      <label>Status <input name="status" maxlength="200" size="18" placeholder="optional" /></label>
      <button type="submit">Set lane</button>
    </form>
  </section>`;
}
