import { AppError, toAppError } from '../errors.js';
import { read_posts } from '../tools/inbox.js';
import type { Ctx } from '../ctx.js';
import { projectRoster, type OwnedProject } from '../db/admin.js';
import { ledgerHeads } from '../db/ledger.js';
import { knownLanes } from '../db/presence.js';
import { selfUnread } from '../db/self.js';
import { html, raw, type SafeHtml } from './html.js';
import { composeForm, draftOf, ID_TEXT, INBOX_FORMS, selfCard } from './inbox-forms.js';
import {
  inboxList,
  postPage,
  replyAddress,
  sentList,
  threadList,
  type PostView,
  type ViewOpts,
} from './inbox-view.js';
import { csrfInput, flashFromQuery, page, sendHtml, type Flash } from './layout.js';
import { liveBadge, liveScript, streamSections, type Sections } from './live.js';
import { inboxPath, projectHeader, requireProject, unreadBadge } from './project-page.js';
import { searchSection } from './search.js';
import { act, selfIn } from './self.js';
import { ownerGet, ownerPost, type OwnerCall, type Route } from './types.js';

// A project's inbox: the owner takes part as their self. Posts to me, my lane and everyone
// (waiting ones first), my sent posts with their receipts, a thread, compose, acknowledge, and
// search. Every read is read_posts through the dispatcher, so opening the page records delivery
// exactly as read_posts does for an agent; acknowledging stays an explicit click. The page stays
// live over its stream, re-rendered by the same functions whenever the ledger moves.

/** What the URL asks the page to show. */
interface View {
  thread?: number;
  older?: string;
  sentOlder?: string;
}

/** The URL's view; a refused form's page shows the thread the form was sent from. */
function viewOf(url: URL, form = new URLSearchParams()): View {
  const thread = form.get('thread') ?? url.searchParams.get('thread');
  return {
    thread: thread && ID_TEXT.safeParse(thread).success ? Number(thread) : undefined,
    older: url.searchParams.get('older') ?? undefined,
    sentOlder: url.searchParams.get('sent_older') ?? undefined,
  };
}

/** The page's stream: the same view, live. */
function streamOf(b: string, view: View): string {
  const q = new URLSearchParams();
  if (view.thread) q.set('thread', String(view.thread));
  if (view.older) q.set('older', view.older);
  if (view.sentOlder) q.set('sent_older', view.sentOlder);
  const query = q.toString();
  return `${b}/events${query ? `?${query}` : ''}`;
}

/** The live sections of the page, read through read_posts as the owner's self. */
async function loadSections(
  c: OwnerCall,
  project: OwnedProject,
  ctx: Ctx,
  view: View,
): Promise<Sections & { latest?: PostView; unread: number | null }> {
  const heads = await ledgerHeads(c.deps.db, [project.id]);
  const o: ViewOpts = {
    base: inboxPath(project),
    me: ctx.actor,
    csrf: csrfInput(c.session),
    now: Date.now(),
  };
  const read = async (args: Record<string, unknown>) =>
    postPage(await act(c, ctx, read_posts, args));
  const sections: Record<string, SafeHtml> = {};
  let latest: PostView | undefined;
  if (view.thread) {
    const thread = await read({ thread: view.thread, limit: 100 });
    sections.thread = threadList(thread, o, view.thread);
    latest = thread.posts[0];
  } else {
    const waiting: PostView[] = (await read({ to_me: true, unacked_only: true, limit: 100 })).posts;
    const recent = await read({ to_me: true, limit: 20, cursor: view.older });
    const sent = await read({ sent: true, limit: 20, cursor: view.sentOlder });
    sections.posts = inboxList(view.older ? [] : waiting, recent, o, view.older);
    sections.sent = sentList(sent, o, view.sentOlder);
  }
  const unread = await selfUnread(c.deps.db, c.session.ownerId, project.id);
  sections.unread = html`${unreadBadge(unread)}`;
  return {
    seq: heads.get(project.id) ?? '0',
    sections: Object.fromEntries(Object.entries(sections).map(([k, v]) => [k, v.text])),
    latest,
    unread,
  };
}

async function render(c: OwnerCall, flash?: Flash): Promise<{ doc: SafeHtml; status: number }> {
  const project = await requireProject(c);
  const ctx = await selfIn(c, project);
  const view = viewOf(c.url, c.form);
  const b = inboxPath(project);
  let status = 200;
  let sections: Sections['sections'] = {};
  let latest: PostView | undefined;
  let unread: number | null | undefined;
  try {
    ({ sections, latest, unread } = await loadSections(c, project, ctx, view));
  } catch (err) {
    // A stale cursor or a thread that does not exist: the page says so and still lets me act.
    const e = toAppError(err);
    if (e.code !== 'invalid_argument') throw err;
    flash = { error: e.message };
    status = 400;
  }
  const [roster, lanes, search] = await Promise.all([
    projectRoster(c.deps.db, c.session.ownerId, project.id),
    knownLanes(c.deps.db, project.id),
    searchSection(c, project, b),
  ]);
  if (search.status !== 200 && status === 200) status = search.status;
  if (unread === undefined) unread = await selfUnread(c.deps.db, c.session.ownerId, project.id);
  const live = (name: string) => html`<div id="inbox-${name}">${raw(sections[name] ?? '')}</div>`;
  const draft = draftOf(c);
  // In a thread, the form answers its latest post unless a reply to another was asked for.
  if (view.thread && latest && !draft.reply_to) {
    draft.reply_to = String(latest.post_id);
    draft.to ??= replyAddress(latest, ctx.actor);
    draft.thread = String(view.thread);
  }
  const compose = composeForm(c, b, draft, { me: ctx.actor, roster, lanes });
  const main = view.thread
    ? html`<section class="card" id="thread">
          <h2>Thread #${view.thread} <a class="muted" href="${b}">back to the inbox</a></h2>
          ${live('thread')}
        </section>
        ${compose}`
    : html`<div class="inbox-grid">
        <section class="card" id="inbox">
          <h2>Inbox</h2>
          ${live('posts')}
        </section>
        <div>
          ${compose}
          <section class="card" id="sent">
            <h2>Sent, with receipts</h2>
            ${live('sent')}
          </section>
        </div>
      </div>`;
  const body = html`${projectHeader(project, 'inbox', unread)}
    <p>
      ${liveBadge(streamOf(b, view))}
      <span class="muted">New posts and receipts appear as they happen.</span>
    </p>
    ${selfCard(c, b, { actor: ctx.actor, lane: ctx.lane }, lanes)} ${main} ${search.html}`;
  return {
    doc: page(c, `Inbox · ${project.name}`, body, {
      flash: flash ?? flashFromQuery(c.url),
      wide: true,
      script: liveScript('inbox'),
    }),
    status,
  };
}

async function inboxPage(c: OwnerCall): Promise<void> {
  const { doc, status } = await render(c);
  sendHtml(c.res, status, c.nonce, doc);
}

/** A refused form's page: the inbox again, with the reason and what was typed. */
async function refusedPage(c: OwnerCall, flash: Flash): Promise<SafeHtml> {
  return (await render(c, flash)).doc;
}

async function inboxEvents(c: OwnerCall): Promise<void> {
  const project = await requireProject(c);
  const view = viewOf(c.url);
  await streamSections(c, project.id, 'inbox', async () => {
    // A project deleted meanwhile ends the stream; any other failure is retried by the loop.
    const gone = await requireProject(c).then(
      () => false,
      (err: unknown) => {
        if (err instanceof AppError && err.code === 'not_found') return true;
        throw err;
      },
    );
    if (gone) return undefined;
    // An open inbox is a present person: each update keeps their self active.
    const ctx = await selfIn(c, project);
    try {
      return await loadSections(c, project, ctx, view);
    } catch (err) {
      if (err instanceof AppError && err.code === 'invalid_argument') {
        return { seq: '0', sections: {} };
      }
      throw err;
    }
  });
}

export const INBOX_ROUTES: Route[] = [
  ownerGet('/admin/projects/:project/inbox', inboxPage),
  ownerGet('/admin/projects/:project/inbox/events', inboxEvents, { stream: true }),
  ownerPost('/admin/projects/:project/inbox/post', INBOX_FORMS.postForm, refusedPage),
  ownerPost('/admin/projects/:project/inbox/ack', INBOX_FORMS.ackForm, refusedPage),
  ownerPost('/admin/projects/:project/inbox/lane', INBOX_FORMS.laneForm, refusedPage),
];
