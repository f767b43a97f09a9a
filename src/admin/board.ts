import { notFound } from '../errors.js';
import { ownedProject, projectRoster, type OwnedProject, type RosterEntry } from '../db/admin.js';
import {
  graphEdges,
  graphTasks,
  recentPosts,
  type BoardPost,
  type GraphTask,
} from '../db/board.js';
import { queryEvents, type EventRow } from '../db/events.js';
import type { Db } from '../db/pool.js';
import { liveLeasesWithHolders, taskCounts, type HeldLease } from '../db/status.js';
import { taskGraph } from './board-graph.js';
import { html, raw, type SafeHtml, table } from './html.js';
import { page, sendHtml, when } from './layout.js';
import { liveBadge, liveScript } from './live.js';
import { navUnread, projectHeader, projectPath, requireProject } from './project-page.js';
import { searchSection } from './search.js';
import type { OwnerCall } from './types.js';
import type { EventType } from '../db/event-types.js';

// The board: a live picture of a project for the people driving its agents. The page is
// rendered here; the stream (board-stream.ts) sends the same sections again, rendered by the
// same functions, whenever the ledger moves, and a small script swaps them in.

export const SECTIONS = ['tasks', 'events', 'presence', 'leases', 'posts'] as const;
export type Section = (typeof SECTIONS)[number];

export interface Snapshot {
  seq: string;
  sections: Record<Section, string>;
}

const GRAPH_LIMIT = 150;

/**
 * Reads the whole board in one read-only REPEATABLE READ transaction, on one connection, so all
 * sections show the same moment; undefined once the project is gone (or was never the owner's).
 */
export async function loadSnapshot(
  db: Db,
  ownerId: string,
  projectId: string,
): Promise<{ project: OwnedProject; snapshot: Snapshot } | undefined> {
  return db
    .transaction()
    .setIsolationLevel('repeatable read')
    .setAccessMode('read only')
    .execute(async (trx) => {
      const project = await ownedProject(trx, ownerId, projectId);
      if (!project) return undefined;
      const roster = await projectRoster(trx, ownerId, project.id);
      const leases = await liveLeasesWithHolders(
        trx,
        project.id,
        project.liveness_window_seconds,
        100,
      );
      const counts = await taskCounts(trx, project.id);
      const tasks = await graphTasks(trx, ownerId, project.id, GRAPH_LIMIT);
      const edges = await graphEdges(
        trx,
        ownerId,
        project.id,
        tasks.map((t) => t.task_id),
      );
      const posts = await recentPosts(trx, ownerId, project.id, 8);
      const events = await queryEvents(trx, project.id, { limit: 25 });
      const now = Date.now();
      return {
        project,
        snapshot: {
          seq: events[0]?.seq ?? '0',
          sections: {
            tasks: tasksSection(counts, tasks, edges).text,
            events: eventsSection(events, now).text,
            presence: presenceSection(roster, now).text,
            leases: leasesSection(leases, now).text,
            posts: postsSection(posts, now).text,
          },
        },
      };
    });
}

function tasksSection(
  counts: Record<string, number>,
  tasks: GraphTask[],
  edges: Parameters<typeof taskGraph>[1],
): SafeHtml {
  const states = ['open', 'assigned', 'in_progress', 'blocked', 'done', 'cancelled'];
  const list = (title: string, id: string, items: GraphTask[]) =>
    html`<div>
      <h3>${title} <span class="badge">${items.length}</span></h3>
      ${
        items.length
          ? html`<ul id="${id}">
              ${items.map(
                (t) =>
                  html`<li data-task="${t.task_id}">
                    #${t.task_id}
                    ${t.title}${t.owner ? html` <span class="muted">· ${t.owner}</span>` : ''}
                  </li>`,
              )}
            </ul>`
          : html`<p class="empty">none</p>`
      }
    </div>`;
  return html`<div class="counts">
      ${states.map(
        (s) =>
          html`<span class="badge" data-count="${s}"
            >${s.replace('_', ' ')}: ${counts[s] ?? 0}</span
          >`,
      )}
    </div>
    ${taskGraph(tasks, edges)}
    <div class="board-lists">
      ${list(
        'In flight',
        'tasks-in-flight',
        tasks.filter((t) => t.status === 'in_progress'),
      )}
      ${list(
        'Ready',
        'tasks-ready',
        tasks.filter((t) => t.ready),
      )}
      ${list(
        'Blocked',
        'tasks-blocked',
        tasks.filter((t) => t.status === 'blocked'),
      )}
    </div>`;
}

function summary(e: EventRow): SafeHtml {
  const d = e.data as Record<string, unknown>;
  const text = (k: string) => (typeof d[k] === 'string' ? (d[k] as string) : undefined);
  switch (e.type as EventType) {
    case 'post': {
      const to = text('to_actor') ?? (text('to_lane') ? `lane ${text('to_lane')}` : 'everyone');
      return html`→ ${to}${text('subject') ? html`: <em>${text('subject')}</em>` : ''}`;
    }
    case 'lease':
    case 'release':
    case 'lease_expired':
      return html`<code>${text('surface') ?? ''}</code
        >${text('mode') ? html` (${text('mode')})` : ''}`;
    case 'claim':
      return html`${text('formatted') ?? e.sequence ?? ''}`;
    case 'task_created':
      return html`#${e.task_id} ${text('title') ?? ''}`;
    case 'register':
      return html`lane ${text('lane') ?? ''}${text('status') ? html` · ${text('status')}` : ''}`;
    default:
      return html`${e.task_id ? `#${e.task_id}` : ''}${text('participant') ? ` ${text('participant')}` : ''}`;
  }
}

function eventsSection(events: EventRow[], now: number): SafeHtml {
  if (events.length === 0) return html`<p class="empty">The ledger is empty.</p>`;
  return html`<ol class="events">
    ${events.map(
      (e) =>
        html`<li data-seq="${e.seq}" data-type="${e.type}">
          <span class="seq">${e.seq}</span> <strong>${e.actor}</strong>
          <span class="badge">${e.type}</span> ${summary(e)}
          <span class="muted">${when(e.at, now)}</span>
        </li>`,
    )}
  </ol>`;
}

function presenceSection(roster: RosterEntry[], now: number): SafeHtml {
  if (roster.length === 0) return html`<p class="empty">Nobody takes part yet.</p>`;
  const active = roster.filter((r) => r.active).length;
  return html`<p class="muted">${active} of ${roster.length} active</p>
    <ul class="presence">
      ${roster.map(
        (r) =>
          html`<li data-actor="${r.handle}/${r.label}">
            <span class="dot${r.active ? ' on' : ''}"></span>
            <strong>${r.handle}/${r.label}</strong
            >${r.lane ? html` <span class="badge">${r.lane}</span>` : ''}
            ${r.status ? html`<span class="muted">${r.status}</span>` : ''}
            <span class="muted">· seen ${when(r.last_seen_at, now)}</span>
          </li>`,
      )}
    </ul>`;
}

function leasesSection(leases: HeldLease[], now: number): SafeHtml {
  if (leases.length === 0) return html`<p class="empty">No live leases.</p>`;
  return table(
    ['Surface', 'Holder', 'Until'],
    leases.map(
      (l) =>
        html`<tr data-lease="${l.lease_id}">
          <td>
            <code>${l.surface}</code>${
              l.mode === 'shared' ? html` <span class="badge">shared</span>` : ''
            }
          </td>
          <td>
            ${l.actor}${l.orphaned ? html` <span class="badge warn" title="holder not seen lately">orphaned</span>` : ''}
          </td>
          <td>${when(l.expires_at, now)}</td>
        </tr>`,
    ),
  );
}

function postsSection(posts: BoardPost[], now: number): SafeHtml {
  if (posts.length === 0) return html`<p class="empty">No posts yet.</p>`;
  return html`${posts.map((p) => {
    const to = p.to_actor ?? (p.to_lane ? `lane ${p.to_lane}` : 'everyone');
    return html`<div class="post" data-post="${p.post_id}">
      <strong>${p.sender_actor}</strong> → ${to}
      <span class="muted">${when(p.created_at, now)} · ${p.acked}/${p.recipients} acked</span>
      ${p.subject ? html`<div><em>${p.subject}</em></div>` : ''}
      <div class="excerpt">${p.excerpt}${p.excerpt.length >= 240 ? '…' : ''}</div>
    </div>`;
  })}`;
}

export async function boardPage(c: OwnerCall): Promise<void> {
  const p = await requireProject(c);
  const loaded = await loadSnapshot(c.deps.db, c.session.ownerId, p.id);
  if (!loaded) throw notFound('no such project');
  const search = await searchSection(c, loaded.project, `${projectPath(loaded.project)}/board`);
  const unread = await navUnread(c, loaded.project);
  const s = loaded.snapshot.sections;
  const section = (name: string, title: string) =>
    html`<section class="card">
      <h2>${title}</h2>
      <div id="board-${name}">${raw(s[name as keyof typeof s])}</div>
    </section>`;
  const body = html`${projectHeader(loaded.project, 'board', unread)}
    <p>
      ${liveBadge(`${projectPath(loaded.project)}/board/events`)}
      <span class="muted">Updates as the ledger moves; no need to reload.</span>
    </p>
    ${search.html}
    <div class="board">
      <div class="wide">${section('tasks', 'Tasks')}</div>
      <div>${section('events', 'Latest events')}</div>
      <div>
        ${section('presence', 'Presence')}${section('leases', 'Leases')}${section('posts', 'Posts')}
      </div>
    </div>`;
  const doc = page(c, `Board · ${loaded.project.name}`, body, {
    wide: true,
    script: liveScript('board'),
  });
  sendHtml(c.res, search.status, c.nonce, doc);
}
