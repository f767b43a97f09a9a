import { z } from 'zod';
import { invalid, notFound } from '../errors.js';
import { createProject, deleteProject, listProjects, renameProject } from '../db/admin.js';
import { appendEvent } from '../db/ledger.js';
import { transact } from '../db/pool.js';
import { SLUG } from '../names.js';
import { fields, PROJECT_NAME } from './forms.js';
import { html, type SafeHtml, table } from './html.js';
import { csrfInput, flashFromQuery, page, redirect, sendHtml, type Flash } from './layout.js';
import { projectPage, projectPath, requireProject } from './project-page.js';
import { ownerGet, ownerPost, type OwnerCall, type Route } from './types.js';

// The owner's projects: the list, creating one, and a project's page, rename and deletion.
// Acts inside a project are recorded in its ledger under the owner's handle.

const LABELS = { slug: 'Slug', name: 'Name', confirm: 'Confirmation' };

async function projectsPage(c: OwnerCall, flash?: Flash): Promise<SafeHtml> {
  const projects = await listProjects(c.deps.db, c.session.ownerId);
  const rows = projects.map(
    (p) =>
      html`<tr data-project="${p.id}">
        <td><a class="project-name" href="${projectPath(p)}">${p.name}</a></td>
        <td><code>${p.slug}</code></td>
        <td>${p.participants}</td>
        <td>${p.active > 0 ? html`<span class="dot on"></span>` : ''}${p.active}</td>
        <td>${p.events}</td>
        <td class="actions">
          <a href="${projectPath(p)}/board">Board</a> ·
          <a href="${projectPath(p)}/ledger">Ledger</a>
        </td>
      </tr>`,
  );
  const body = html`<h1>Projects</h1>
    <p class="sub">
      Signed in as ${c.session.handle}. Each project has its own ledger, tasks, leases and tokens.
    </p>
    <section class="card">
      ${
        projects.length
          ? table(['Name', 'Slug', 'Participants', 'Active', 'Events', ''], rows, 'projects')
          : html`<p class="empty">No projects yet.</p>`
      }
    </section>
    <section class="card">
      <h2>Create a project</h2>
      <form class="row" method="post" action="/admin/projects">
        ${csrfInput(c.session)}
        <label
          >Name <input name="name" required maxlength="200" placeholder="Payments API"
        /></label>
        <label
          >Slug
          <input
            name="slug"
            required
            maxlength="64"
            pattern="[a-z0-9\\-]{1,64}"
            placeholder="payments-api"
        /></label>
        <button class="primary" type="submit">Create project</button>
      </form>
      <p class="muted">The slug is how agents see the project (1–64 of a-z, 0-9 and -).</p>
    </section>`;
  return page(c, 'Projects', body, { flash: flash ?? flashFromQuery(c.url) });
}

async function showProjects(c: OwnerCall): Promise<void> {
  sendHtml(c.res, 200, c.nonce, await projectsPage(c));
}

async function showProject(c: OwnerCall): Promise<void> {
  sendHtml(c.res, 200, c.nonce, await projectPage(c, flashFromQuery(c.url)));
}

const NAMING = z.object({ slug: SLUG, name: PROJECT_NAME });

async function create(c: OwnerCall): Promise<void> {
  const f = fields(NAMING, c.form, LABELS);
  const project = await transact(c.deps.db, async (trx) => {
    const p = await createProject(trx, c.session.ownerId, f.slug, f.name);
    await appendEvent(trx, p.id, {
      type: 'project_created',
      actor: c.session.handle,
      data: { slug: p.slug, name: p.name, via: 'web' },
    });
    return p;
  });
  redirect(c.res, `${projectPath(project)}?done=project-created`);
}

async function rename(c: OwnerCall): Promise<void> {
  const f = fields(NAMING, c.form, LABELS);
  const p = await requireProject(c);
  await transact(c.deps.db, async (trx) => {
    const before = await renameProject(trx, c.session.ownerId, p.id, f);
    if (!before) throw notFound('no such project');
    await appendEvent(trx, p.id, {
      type: 'project_renamed',
      actor: c.session.handle,
      data: { from: before, to: { slug: f.slug, name: f.name }, via: 'web' },
    });
  });
  redirect(c.res, `${projectPath(p)}?done=project-renamed`);
}

async function remove(c: OwnerCall): Promise<void> {
  const p = await requireProject(c);
  const { confirm } = fields(z.object({ confirm: z.string().max(64) }), c.form, LABELS);
  if (confirm !== p.slug) {
    throw invalid(`type the project's slug (${p.slug}) to confirm the deletion`);
  }
  const deleted = await transact(c.deps.db, (trx) => deleteProject(trx, c.session.ownerId, p.id));
  if (!deleted) throw notFound('no such project');
  c.deps.log.info(
    { reqId: c.requestId, owner: c.session.handle, project: p.id },
    'project deleted',
  );
  redirect(c.res, '/admin/projects?done=project-deleted');
}

export const PROJECT_ROUTES: Route[] = [
  ownerGet('/admin/projects', showProjects),
  ownerPost('/admin/projects', create, projectsPage),
  ownerGet('/admin/projects/:project', showProject),
  ownerPost('/admin/projects/:project/rename', rename, projectPage),
  ownerPost('/admin/projects/:project/delete', remove, projectPage),
];
