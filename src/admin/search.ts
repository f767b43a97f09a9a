import { AppError } from '../errors.js';
import type { OwnedProject } from '../db/admin.js';
import { SEARCH_KINDS } from '../db/search.js';
import {
  QUERY_MAX_CHARS,
  runSearch,
  SEARCH_INPUT,
  type SearchArgs,
  type SearchHit,
} from '../tools/search.js';
import { fields } from './forms.js';
import { html, type SafeHtml } from './html.js';
import { when } from './layout.js';
import { inboxPath, projectPath } from './project-page.js';
import type { OwnerCall } from './types.js';

// The search box of a project's pages: a GET form, so a search is a link, answered by the same
// runSearch as the search tool. A page embeds searchSection() with its own path as the form's
// target; the section reads only its own parameters from the URL.

const FILTERS = ['query', 'kind', 'actor', 'since'] as const;
const PARAMS = [...FILTERS, 'cursor'] as const;
const LABELS = { query: 'Search', kind: 'Kind', actor: 'Actor', since: 'Since' };

export interface SearchSection {
  html: SafeHtml;
  /** 400 when the search was refused, so the page answers with it. */
  status: number;
}

/** The search form, and the hits when the URL asks for a search, for the page at `base`. */
export async function searchSection(
  c: OwnerCall,
  project: OwnedProject,
  base: string,
): Promise<SearchSection> {
  const given = new URLSearchParams();
  for (const name of PARAMS) {
    const value = c.url.searchParams.get(name);
    if (value) given.set(name, value);
  }
  if (!given.has('query')) return { html: card(base, {}), status: 200 };
  let args: SearchArgs;
  try {
    args = fields(SEARCH_INPUT, given, LABELS);
    const result = await c.deps.db
      .transaction()
      .setAccessMode('read only')
      // `project` is the owner's: the caller found it by the signed-in owner.
      .execute((trx) => runSearch(trx, project.id, args));
    return { html: card(base, args, hits(project, base, args, result)), status: 200 };
  } catch (err) {
    if (!(err instanceof AppError) || err.code !== 'invalid_argument') throw err;
    const shown = Object.fromEntries(given) as Partial<Record<(typeof PARAMS)[number], string>>;
    return {
      html: card(base, shown, html`<div class="flash error" role="alert">${err.message}</div>`),
      status: 400,
    };
  }
}

function card(
  base: string,
  v: Partial<Record<'query' | 'kind' | 'actor' | 'since', string>>,
  below: SafeHtml | string = '',
): SafeHtml {
  return html`<section class="card" id="search">
    <h2>Search</h2>
    <form class="row" method="get" action="${base}" role="search">
      <label
        >Words, prefix*, "a phrase"
        <input
          type="search"
          name="query"
          size="32"
          maxlength="${QUERY_MAX_CHARS}"
          required
          value="${v.query ?? ''}"
      /></label>
      <label
        >Kind
        <select name="kind">
          <option value="">all</option>
          ${SEARCH_KINDS.map(
            (k) => html`<option value="${k}" ${v.kind === k ? html` selected` : ''}>${k}</option>`,
          )}
        </select></label
      >
      <label>Actor <input name="actor" size="16" value="${v.actor ?? ''}" /></label>
      <label>Since <input type="date" name="since" value="${v.since ?? ''}" /></label>
      <button type="submit">Search</button>
      ${v.query ? html`<a href="${base}">Clear</a>` : ''}
    </form>
    ${below}
  </section>`;
}

function hits(
  project: OwnedProject,
  base: string,
  args: SearchArgs,
  result: { hits: SearchHit[]; next_cursor: string | null },
): SafeHtml {
  if (result.hits.length === 0) return html`<p class="empty">Nothing matches.</p>`;
  const more = new URLSearchParams();
  for (const name of FILTERS) {
    const value = args[name];
    if (value) more.set(name, value);
  }
  if (result.next_cursor) more.set('cursor', result.next_cursor);
  const now = Date.now();
  return html`<ol class="hits">
      ${result.hits.map(
        (h) =>
          html`<li data-kind="${h.kind}">
            <span class="badge">${h.kind}</span> ${about(project, h)}
            <span class="muted">· ${h.actor} · ${when(new Date(h.at), now)}</span>
            <div class="snippet">${marked(h.snippet)}</div>
          </li>`,
      )}
    </ol>
    ${
      result.next_cursor
        ? html`<p><a id="search-more" href="${base}?${more.toString()}">More results</a></p>`
        : ''
    }`;
}

/** What a hit is, linked to where the pages show more of it. */
function about(project: OwnedProject, h: SearchHit): SafeHtml {
  const ledger = `${projectPath(project)}/ledger`;
  switch (h.kind) {
    case 'post':
      return html`<a href="${inboxPath(project)}?thread=${h.post_id}"
          ><strong>${h.subject ?? 'post'}</strong></a
        >
        <span class="muted">post #${h.post_id}</span>`;
    case 'task':
      return html`<a href="${ledger}?task=${h.task_id}"
          ><strong>#${h.task_id} ${h.title}</strong></a
        >
        <span class="badge">${(h.status ?? '').replace('_', ' ')}</span>`;
    case 'claim':
      return html`<a href="${ledger}?sequence=${encodeURIComponent(h.sequence)}"
        ><strong>${h.formatted}</strong></a
      >`;
    case 'lease':
      return html`<a href="${ledger}?before=${h.seq + 1}"><code>${h.surface}</code></a>
        <span class="muted">lease #${h.lease_id}</span>`;
  }
}

/** The snippet with its matches (between « and ») marked; every piece escaped. */
function marked(snippet: string): SafeHtml {
  const parts = snippet.split(/«([^«»]*)»/);
  return html`${parts.map((part, i) => (i % 2 === 1 ? html`<mark>${part}</mark>` : part))}`;
}
