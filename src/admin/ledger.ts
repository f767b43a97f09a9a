import { z } from 'zod';
import { EVENT_TYPES, HISTORICAL_EVENT_TYPES } from '../db/event-types.js';
import { queryEvents, type EventRow } from '../db/events.js';
import { AppError } from '../errors.js';
import { ACTOR_OR_HANDLE, line } from '../names.js';
import { requireActorFilter } from '../tools/presence.js';
import { fields, optional } from './forms.js';
import { html, type SafeHtml, table } from './html.js';
import { page, sendHtml, when, type Flash } from './layout.js';
import { navUnread, projectHeader, projectPath, requireProject } from './project-page.js';
import { ownerGet, type OwnerCall, type Route } from './types.js';

// A project's ledger, newest first, with the exact-match filters of query_events and paging by
// seq. Filters are a GET form, so a filtered view is a link one can share with oneself.

const PAGE = 100;

const FILTER = z.object({
  type: optional(z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, 'an event type, e.g. task_shipped')),
  actor: optional(ACTOR_OR_HANDLE),
  task: optional(
    z
      .string()
      .regex(/^[1-9][0-9]{0,15}$/, 'a task id')
      .transform(Number),
  ),
  sequence: optional(line(64)),
  ref: optional(line(500)),
  tag: optional(line(64)),
  before: optional(
    z
      .string()
      .regex(/^[1-9][0-9]{0,17}$/, 'a seq')
      .transform(Number),
  ),
});
type Filter = z.output<typeof FILTER>;

const LABELS = { type: 'Type', actor: 'Actor', task: 'Task', before: 'Before seq' };

const KNOWN_TYPES: readonly string[] = [...EVENT_TYPES, ...HISTORICAL_EVENT_TYPES];

function query(f: Filter, changes: Partial<Record<keyof Filter, string | number | undefined>>) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...changes })) {
    if (v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function ledgerPage(c: OwnerCall): Promise<void> {
  const p = await requireProject(c);
  let filter: Filter = {};
  let flash: Flash | undefined;
  let status = 200;
  try {
    filter = fields(FILTER, c.url.searchParams, LABELS);
    // As query_events has it: a bare label is refused with the actors it may mean.
    if (filter.actor !== undefined)
      await requireActorFilter(c.deps.db, p.id, filter.actor, 'Actor');
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    flash = { error: err.message };
    status = 400;
  }
  const rows = flash
    ? []
    : await queryEvents(c.deps.db, p.id, {
        type: filter.type,
        actor: filter.actor,
        taskId: filter.task,
        sequence: filter.sequence,
        ref: filter.ref,
        tag: filter.tag,
        beforeSeq: filter.before,
        limit: PAGE + 1,
      });
  const shown = rows.slice(0, PAGE);
  const unread = await navUnread(c, p);
  const base = `${projectPath(p)}/ledger`;
  const older = rows.length > PAGE ? shown.at(-1)?.seq : undefined;
  const input = (name: keyof Filter, label: string, size = 14) =>
    html`<label
      >${label} <input name="${name}" size="${size}" value="${filter[name] ?? ''}"
    /></label>`;
  const body = html`${projectHeader(p, 'ledger', unread)}
    <section class="card">
      <form class="row" method="get" action="${base}">
        <label
          >Type <input name="type" size="16" list="event-types" value="${filter.type ?? ''}"
        /></label>
        <datalist id="event-types">
          ${KNOWN_TYPES.map((t) => html`<option value="${t}"></option>`)}
        </datalist>
        ${input('actor', 'Actor', 18)} ${input('task', 'Task', 6)}
        ${input('sequence', 'Sequence', 10)} ${input('ref', 'Ref', 16)} ${input('tag', 'Tag', 10)}
        <button type="submit">Filter</button> <a href="${base}">Clear</a>
      </form>
    </section>
    <section class="card">
      ${shown.length ? eventsTable(shown, filter, base) : html`<p class="empty">No events match.</p>`}
      <p>
        ${filter.before ? html`<a href="${base}${query(filter, { before: undefined })}">Newest</a> · ` : ''}${
          older
            ? html`<a id="older" href="${base}${query(filter, { before: older })}">Older events</a>`
            : ''
        }
      </p>
    </section>`;
  sendHtml(c.res, status, c.nonce, page(c, `Ledger · ${p.name}`, body, { flash }));
}

function eventsTable(events: EventRow[], f: Filter, base: string): SafeHtml {
  const link = (changes: Partial<Record<keyof Filter, string>>, text: string) =>
    html`<a href="${base}${query({ ...f, before: undefined }, changes)}">${text}</a>`;
  const rows = events.map((e) => {
    const about = [
      e.task_id ? link({ task: e.task_id }, `task #${e.task_id}`) : '',
      e.post_id ? html` post #${e.post_id}` : '',
      e.lease_id ? html` lease #${e.lease_id}` : '',
      e.sequence ? html` ${link({ sequence: e.sequence }, e.sequence)}` : '',
      e.ref ? html` ref ${link({ ref: e.ref }, e.ref)}` : '',
      e.tag ? html` tag ${link({ tag: e.tag }, e.tag)}` : '',
    ];
    const data = JSON.stringify(e.data);
    return html`<tr data-seq="${e.seq}">
      <td class="muted">${e.seq}</td>
      <td>${when(e.at)}</td>
      <td>${link({ type: e.type }, e.type)}</td>
      <td>${link({ actor: e.actor }, e.actor)}</td>
      <td>${about}</td>
      <td><code>${data.length > 600 ? `${data.slice(0, 600)}…` : data}</code></td>
    </tr>`;
  });
  return table(['Seq', 'When', 'Type', 'Actor', 'About', 'Data'], rows, 'events');
}

export const LEDGER_ROUTES: Route[] = [ownerGet('/admin/projects/:project/ledger', ledgerPage)];
