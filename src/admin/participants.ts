import { z } from 'zod';
import { invalid, notFound } from '../errors.js';
import {
  createParticipant,
  deleteParticipant,
  ownedParticipant,
  ownerParticipants,
  participantProjects,
  releaseTasksOf,
  renameLeaseHolder,
  renameParticipant,
} from '../db/admin-participants.js';
import { appendEvent } from '../db/ledger.js';
import { transact } from '../db/pool.js';
import { LABEL } from '../names.js';
import { fields, KIND } from './forms.js';
import { html, type SafeHtml, table } from './html.js';
import { csrfInput, flashFromQuery, page, redirect, sendHtml, when, type Flash } from './layout.js';
import { ownerGet, ownerPost, type OwnerCall, type Route } from './types.js';

// The owner's participants (agents and humans), across projects. Renaming and deleting keep
// history: the ledger, claims and posts store the name that acted at the time. Deleting removes
// the participations with their tokens and leases, and returns unfinished tasks to the pool.

const LABELS = { label: 'Name', kind: 'Kind', confirm: 'Confirmation' };
const participantPath = (id: string) => `/admin/participants/${id}`;

async function listPage(c: OwnerCall, flash?: Flash): Promise<SafeHtml> {
  const all = await ownerParticipants(c.deps.db, c.session.ownerId);
  const rows = all.map(
    (p) =>
      html`<tr data-participant="${p.id}">
        <td><a class="actor" href="${participantPath(p.id)}">${c.session.handle}/${p.label}</a></td>
        <td><span class="badge">${p.kind}</span></td>
        <td>
          ${
            p.projects.length
              ? p.projects.map(
                  (pr, i) =>
                    html`${i ? ', ' : ''}<a href="/admin/projects/${pr.id}">${pr.name}</a>`,
                )
              : html`<span class="muted">none</span>`
          }
        </td>
        <td>${when(p.created_at)}</td>
      </tr>`,
  );
  const body = html`<h1>Participants</h1>
    <p class="sub">
      Identities you create, agents or humans. One can take part in several of your projects, with a
      token for each.
    </p>
    <section class="card">
      ${
        all.length
          ? table(['Participant', 'Kind', 'Projects', 'Created'], rows, 'participants')
          : html`<p class="empty">No participants yet.</p>`
      }
    </section>
    <section class="card">
      <h2>Create a participant</h2>
      <form class="row" method="post" action="/admin/participants">
        ${csrfInput(c.session)}
        <label>Name <input name="label" required maxlength="64" placeholder="claude-2" /></label>
        <label
          >Kind
          <select name="kind">
            <option value="agent">agent</option>
            <option value="human">human</option>
          </select></label
        >
        <button class="primary" type="submit">Create participant</button>
      </form>
      <p class="muted">Grant it a token from a project's page to let it take part there.</p>
    </section>`;
  return page(c, 'Participants', body, { flash: flash ?? flashFromQuery(c.url) });
}

async function requireParticipant(c: OwnerCall) {
  const p = await ownedParticipant(c.deps.db, c.session.ownerId, c.params.participant ?? '');
  if (!p) throw notFound('no such participant');
  return p;
}

async function detailPage(c: OwnerCall, flash?: Flash): Promise<SafeHtml> {
  const p = await requireParticipant(c);
  const projects = await participantProjects(c.deps.db, c.session.ownerId, p.id);
  const actor = `${c.session.handle}/${p.label}`;
  const csrf = csrfInput(c.session);
  const rows = projects.map(
    (pr) =>
      html`<tr>
        <td><a href="/admin/projects/${pr.project_id}">${pr.name}</a></td>
        <td>${pr.lane ?? html`<span class="muted">—</span>`}</td>
        <td>${pr.is_admin ? html`<span class="badge admin">admin</span>` : ''}</td>
        <td>${when(pr.last_seen_at)}</td>
        <td>${pr.live_tokens}</td>
        <td>${pr.live_leases}</td>
      </tr>`,
  );
  const body = html`<h1 id="participant-name">${actor}</h1>
    <p class="sub">
      <a href="/admin/participants">All participants</a> <span class="badge">${p.kind}</span>
    </p>
    <section class="card">
      <h2>Projects</h2>
      ${
        projects.length
          ? table(['Project', 'Lane', '', 'Last seen', 'Live tokens', 'Live leases'], rows)
          : html`<p class="empty">Not in any project yet.</p>`
      }
    </section>
    <section class="card">
      <h2>Rename</h2>
      <form class="row" method="post" action="${participantPath(p.id)}/rename">
        ${csrf}
        <label>Name <input name="label" required maxlength="64" value="${p.label}" /></label>
        <button type="submit">Rename</button>
      </form>
      <p class="muted">
        Tokens keep working. The ledger keeps the old name on what was done under it.
      </p>
    </section>
    <section class="card danger-zone">
      <h2>Delete</h2>
      <p>
        Deleting revokes its tokens in every project, ends its leases and returns its unfinished
        tasks to the pool. Its events, claims and posts stay in the ledger under its name.
      </p>
      <form class="row" method="post" action="${participantPath(p.id)}/delete">
        ${csrf}
        <label>Type the name to confirm <input name="confirm" required maxlength="64" /></label>
        <button class="danger" type="submit">Delete participant</button>
      </form>
    </section>`;
  return page(c, actor, body, { flash: flash ?? flashFromQuery(c.url) });
}

async function showList(c: OwnerCall): Promise<void> {
  sendHtml(c.res, 200, c.nonce, await listPage(c));
}

async function showDetail(c: OwnerCall): Promise<void> {
  sendHtml(c.res, 200, c.nonce, await detailPage(c));
}

async function create(c: OwnerCall): Promise<void> {
  const f = fields(z.object({ label: LABEL, kind: KIND }), c.form, LABELS);
  const p = await transact(c.deps.db, (trx) =>
    createParticipant(trx, c.session.ownerId, f.label, f.kind),
  );
  redirect(c.res, `${participantPath(p.id)}?done=participant-created`);
}

async function rename(c: OwnerCall): Promise<void> {
  const { label } = fields(z.object({ label: LABEL }), c.form, LABELS);
  const owner = c.session.ownerId;
  const id = await transact(c.deps.db, async (trx) => {
    const p = await ownedParticipant(trx, owner, c.params.participant ?? '', { lock: true });
    if (!p) throw notFound('no such participant');
    if (p.label === label) return p.id;
    await renameParticipant(trx, owner, p.id, label);
    const from = `${c.session.handle}/${p.label}`;
    const to = `${c.session.handle}/${label}`;
    const projects = await participantProjects(trx, owner, p.id);
    for (const pr of projects) await renameLeaseHolder(trx, pr.project_id, pr.participation_id, to);
    // One event in each project it takes part in, oldest project first (a fixed lock order).
    for (const pr of projects) {
      await appendEvent(trx, pr.project_id, {
        type: 'participant_renamed',
        actor: c.session.handle,
        data: { from, to, via: 'web' },
      });
    }
    return p.id;
  });
  redirect(c.res, `${participantPath(id)}?done=participant-renamed`);
}

async function remove(c: OwnerCall): Promise<void> {
  const { confirm } = fields(z.object({ confirm: z.string().max(64) }), c.form, LABELS);
  const owner = c.session.ownerId;
  await transact(c.deps.db, async (trx) => {
    const p = await ownedParticipant(trx, owner, c.params.participant ?? '', { lock: true });
    if (!p) throw notFound('no such participant');
    if (confirm !== p.label) throw invalid(`type the name (${p.label}) to confirm the deletion`);
    const actor = `${c.session.handle}/${p.label}`;
    const projects = await participantProjects(trx, owner, p.id);
    const returned = new Map<string, Awaited<ReturnType<typeof releaseTasksOf>>>();
    for (const pr of projects) {
      returned.set(pr.project_id, await releaseTasksOf(trx, pr.project_id, pr.participation_id));
    }
    await deleteParticipant(trx, owner, p.id);
    for (const pr of projects) {
      const tasks = returned.get(pr.project_id) ?? [];
      for (const t of tasks) {
        await appendEvent(trx, pr.project_id, {
          type: 'task_reclaimed',
          actor: c.session.handle,
          taskId: t.task_id,
          data: {
            previous_owner: actor,
            previous_status: t.previous_status,
            reason: 'participant deleted',
          },
        });
      }
      await appendEvent(trx, pr.project_id, {
        type: 'participant_deleted',
        actor: c.session.handle,
        data: {
          participant: actor,
          tokens_revoked: pr.live_tokens,
          leases_ended: pr.live_leases,
          tasks_returned: tasks.map((t) => Number(t.task_id)),
          via: 'web',
        },
      });
    }
  });
  redirect(c.res, '/admin/participants?done=participant-deleted');
}

export const PARTICIPANT_ROUTES: Route[] = [
  ownerGet('/admin/participants', showList),
  ownerPost('/admin/participants', create, listPage),
  ownerGet('/admin/participants/:participant', showDetail),
  ownerPost('/admin/participants/:participant/rename', rename, detailPage),
  ownerPost('/admin/participants/:participant/delete', remove, detailPage),
];
