import { notFound } from '../errors.js';
import { ownerParticipants } from '../db/admin-participants.js';
import {
  ownedProject,
  projectInvites,
  projectRoster,
  type InviteEntry,
  type OwnedProject,
  type RosterEntry,
} from '../db/admin.js';
import type { Executor } from '../db/pool.js';
import { selfUnread } from '../db/self.js';
import { html, type SafeHtml, table } from './html.js';
import { csrfInput, page, when, type Flash } from './layout.js';
import type { OwnerCall } from './types.js';

// A project's page: its participants and their tokens, granting, invites, settings, and the
// danger zone. Every form on it posts to a route under /admin/projects/<id>/.

/** The signed-in owner's project named in the path, or 404. */
export async function requireProject(
  c: OwnerCall,
  db: Executor = c.deps.db,
  opts: { lock?: boolean } = {},
): Promise<OwnedProject> {
  const p = await ownedProject(db, c.session.ownerId, c.params.project ?? '', opts);
  if (!p) throw notFound('no such project');
  return p;
}

export const projectPath = (p: { id: string }) => `/admin/projects/${p.id}`;
export const inboxPath = (p: { id: string }) => `${projectPath(p)}/inbox`;

type Here = 'project' | 'board' | 'inbox' | 'ledger';

/** The count beside the inbox link: the owner's unacknowledged posts (nothing when none). */
export function unreadBadge(unread: number | null): SafeHtml | string {
  return unread
    ? html`<span class="badge unread" title="unacknowledged posts">${unread}</span>`
    : '';
}

/** The owner's unacknowledged posts in the project; null before they take part in it. */
export const navUnread = (c: OwnerCall, p: OwnedProject) =>
  selfUnread(c.deps.db, c.session.ownerId, p.id);

export function projectHeader(p: OwnedProject, here: Here, unread: number | null): SafeHtml {
  const link = (to: Here, href: string, text: string) =>
    to === here ? html`<strong>${text}</strong>` : html`<a href="${href}">${text}</a>`;
  return html`<h1 id="project-name">${p.name}</h1>
    <nav class="sub" aria-label="Project">
      ${link('project', projectPath(p), 'Project')}
      ${link('board', `${projectPath(p)}/board`, 'Board')}
      <span class="nav-inbox"
        >${link('inbox', inboxPath(p), 'Inbox')}<span id="inbox-unread"
          >${unreadBadge(unread)}</span
        ></span
      >
      ${link('ledger', `${projectPath(p)}/ledger`, 'Ledger')}
      <span class="muted">slug <code>${p.slug}</code></span>
    </nav>`;
}

export async function projectPage(c: OwnerCall, flash?: Flash): Promise<SafeHtml> {
  const p = await requireProject(c);
  const owner = c.session.ownerId;
  const [roster, invites, participants, unread] = await Promise.all([
    projectRoster(c.deps.db, owner, p.id),
    projectInvites(c.deps.db, owner, p.id),
    ownerParticipants(c.deps.db, owner),
    navUnread(c, p),
  ]);
  const base = projectPath(p);
  const csrf = csrfInput(c.session);
  const body = html`${projectHeader(p, 'project', unread)}
    <section class="card" id="participants">
      <h2>Participants and tokens</h2>
      ${rosterTable(c, base, roster)}
      <h3>Grant a token</h3>
      <form class="row" method="post" action="${base}/grant">
        ${csrf}
        <label
          >Participant
          <input
            name="participant"
            required
            maxlength="64"
            list="known-participants"
            placeholder="claude-2"
        /></label>
        <datalist id="known-participants">
          ${participants.map((x) => html`<option value="${x.label}"></option>`)}
        </datalist>
        <label
          >Kind
          <select name="kind">
            <option value="">agent (or as it is)</option>
            <option value="agent">agent</option>
            <option value="human">human</option>
          </select></label
        >
        <label>Lane <input name="lane" maxlength="64" placeholder="optional" /></label>
        <label
          >Expires in days <input name="ttl_days" inputmode="numeric" size="5" placeholder="never"
        /></label>
        <label class="check"><input type="checkbox" name="is_admin" /> project admin</label>
        <button class="primary" type="submit">Grant token</button>
      </form>
      <p class="muted">
        A new participant is created when the name is new. The token is shown once.
      </p>
    </section>
    <section class="card" id="invites">
      <h2>Invites</h2>
      ${invitesTable(c, base, invites)}
      <h3>Create an invite</h3>
      <form class="row" method="post" action="${base}/invites">
        ${csrf}
        <label
          >Name <input name="participant" maxlength="64" placeholder="redeemer chooses"
        /></label>
        <label
          >Kind
          <select name="kind">
            <option value="agent">agent</option>
            <option value="human">human</option>
          </select></label
        >
        <label>Lane <input name="lane" maxlength="64" placeholder="optional" /></label>
        <label>Uses <input name="uses" inputmode="numeric" size="4" value="1" /></label>
        <label
          >Valid hours <input name="ttl_hours" inputmode="numeric" size="4" value="24"
        /></label>
        <label class="check"><input type="checkbox" name="is_admin" /> project admin</label>
        <button type="submit">Create invite</button>
      </form>
    </section>
    <section class="card" id="settings">
      <h2>Settings</h2>
      <form class="row" method="post" action="${base}/liveness">
        ${csrf}
        <label
          >Liveness window (seconds)
          <input name="seconds" inputmode="numeric" size="8" value="${p.liveness_window_seconds}"
        /></label>
        <button type="submit">Save window</button>
      </form>
      <p class="muted">Participants seen within this window count as active.</p>
      <form class="row" method="post" action="${base}/rename">
        ${csrf}
        <label>Name <input name="name" required maxlength="200" value="${p.name}" /></label>
        <label>Slug <input name="slug" required maxlength="64" value="${p.slug}" /></label>
        <button type="submit">Rename</button>
      </form>
    </section>
    <section class="card danger-zone" id="delete">
      <h2>Delete this project</h2>
      <p>
        Deleting removes the project with its ledger, tasks, leases and tokens. It cannot be undone.
        Participants stay yours, for other projects.
      </p>
      <form class="row" method="post" action="${base}/delete">
        ${csrf}
        <label>Type the slug to confirm <input name="confirm" required maxlength="64" /></label>
        <button class="danger" type="submit">Delete project</button>
      </form>
    </section>`;
  return page(c, p.name, body, { flash });
}

function rosterTable(c: OwnerCall, base: string, roster: RosterEntry[]): SafeHtml {
  if (roster.length === 0) {
    return html`<p class="empty">Nobody takes part yet: grant a token or create an invite.</p>`;
  }
  const csrf = csrfInput(c.session);
  const rows = roster.map((r) => {
    const actor = `${r.handle}/${r.label}`;
    const path = `${base}/participations/${r.participation_id}`;
    return html`<tr data-participation="${r.participation_id}">
      <td>
        <a class="actor" href="/admin/participants/${r.participant_id}">${actor}</a>
        <span class="badge">${r.kind}</span
        >${r.is_admin ? html` <span class="badge admin">admin</span>` : ''}
      </td>
      <td>
        ${r.lane ?? html`<span class="muted">—</span>`}${r.status ? html`<br /><span class="muted">${r.status}</span>` : ''}
      </td>
      <td>
        <span class="dot${r.active ? ' on' : ''}"></span>${r.active ? 'active' : 'away'} <br /><span
          class="muted"
          >seen ${when(r.last_seen_at)}</span
        >
      </td>
      <td class="tokens">
        ${r.live_tokens} live<br /><span class="muted">used ${when(r.tokens_last_used_at)}</span>
      </td>
      <td class="actions">
        <form method="post" action="${path}/rotate">
          ${csrf}<input
            name="ttl_days"
            inputmode="numeric"
            size="4"
            placeholder="never"
            aria-label="New token expires in days"
            title="New token expires in days (empty: never)"
          /><button type="submit">Rotate</button>
        </form>
        <form method="post" action="${path}/revoke">
          ${csrf}<button class="danger" type="submit" ${r.live_tokens === 0 ? html` disabled` : ''}>
            Revoke
          </button>
        </form>
        <form method="post" action="${path}/admin">
          ${csrf}
          <input type="hidden" name="is_admin" value="${r.is_admin ? 'false' : 'true'}" />
          <button type="submit">${r.is_admin ? 'Remove admin' : 'Make admin'}</button>
        </form>
      </td>
    </tr>`;
  });
  return table(['Participant', 'Lane', 'Presence', 'Tokens', ''], rows);
}

function invitesTable(c: OwnerCall, base: string, invites: InviteEntry[]): SafeHtml {
  if (invites.length === 0) return html`<p class="empty">No invites yet.</p>`;
  const csrf = csrfInput(c.session);
  const rows = invites.map((i) => {
    const state = i.revoked_at
      ? html`<span class="badge off">revoked</span>`
      : i.uses_left === 0
        ? html`<span class="badge off">used up</span>`
        : i.live
          ? html`<span class="badge on">live</span>`
          : html`<span class="badge off">expired</span>`;
    return html`<tr data-invite="${i.id}">
      <td>#${i.id}</td>
      <td>
        ${i.label ?? html`<span class="muted">their choice</span>`}
        <span class="badge">${i.kind}</span>${
          i.is_admin ? html` <span class="badge admin">admin</span>` : ''
        }
      </td>
      <td>${i.lane ?? html`<span class="muted">—</span>`}</td>
      <td>${i.uses_left} of ${i.uses_total} left</td>
      <td>
        ${state}<br /><span class="muted"
          >${i.live ? 'expires' : 'expiry'} ${when(i.expires_at)}</span
        >
      </td>
      <td class="muted">by ${i.created_by}</td>
      <td class="actions">
        ${
          i.live
            ? html`<form method="post" action="${base}/invites/${i.id}/revoke">
                ${csrf} <button class="danger" type="submit">Revoke</button>
              </form>`
            : ''
        }
      </td>
    </tr>`;
  });
  return table(['Invite', 'For', 'Lane', 'Uses', 'State', 'Created', ''], rows);
}
