import { z } from 'zod';
import { conflict, notFound } from '../errors.js';
import { grantAndMint } from '../auth/provision.js';
import { mintInviteCode, mintToken } from '../auth/tokens.js';
import { ownedInvite, ownedParticipation } from '../db/admin.js';
import {
  closeSessionsOf,
  findParticipant,
  insertToken,
  revokeTokensOf,
  updateParticipation,
} from '../db/identity.js';
import { insertInvite, revokeInvite } from '../db/invites.js';
import { appendEvent } from '../db/ledger.js';
import { transact, type Trx } from '../db/pool.js';
import { setLivenessWindow } from '../db/presence.js';
import { LABEL, LANE } from '../names.js';
import { checkbox, fields, KIND, optional, whole } from './forms.js';
import { redirect, sendHtml } from './layout.js';
import { inviteCard, tokenCard } from './handout.js';
import { projectPage, projectPath, requireProject } from './project-page.js';
import { ownerPost, type OwnerCall, type Route } from './types.js';

// Who may act in a project: granting tokens (a hand-out card, shown once), rotating, revoking,
// admin rights, invites and the liveness window. The same domain code and ledger events as the
// admin tools, with the owner's handle as the actor.

const LABELS = {
  participant: 'Participant',
  kind: 'Kind',
  lane: 'Lane',
  ttl_days: 'Expires in days',
  uses: 'Uses',
  ttl_hours: 'Valid hours',
  seconds: 'Liveness window',
};

const expiry = (days: number | undefined) =>
  days === undefined ? null : new Date(Date.now() + days * 86_400_000);

/** The participation named in the path, locked; the project is key-share locked first. */
async function lockedParticipation(c: OwnerCall, trx: Trx) {
  const project = await requireProject(c, trx, { lock: true });
  const p = await ownedParticipation(
    trx,
    c.session.ownerId,
    project.id,
    c.params.participation ?? '',
  );
  if (!p) throw notFound('no such participant in this project');
  return { project, p, actor: `${p.handle}/${p.label}` };
}

const GRANT = z.object({
  participant: LABEL,
  kind: optional(KIND),
  lane: optional(LANE),
  ttl_days: optional(whole(1, 3650)),
  is_admin: checkbox,
});

async function grant(c: OwnerCall): Promise<void> {
  const f = fields(GRANT, c.form, LABELS);
  const out = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const expiresAt = expiry(f.ttl_days);
    const g = await grantAndMint(
      trx,
      {
        projectId: project.id,
        ownerId: c.session.ownerId,
        ownerHandle: c.session.handle,
        label: f.participant,
        kind: f.kind,
        lane: f.lane,
        isAdmin: f.is_admin ? true : undefined,
      },
      { expiresAt },
    );
    await appendEvent(trx, project.id, {
      type: 'participant_provisioned',
      actor: c.session.handle,
      data: {
        participant: g.actor,
        created: g.created,
        lane: f.lane ?? null,
        is_admin: f.is_admin ? true : null,
        expires_at: expiresAt,
        via: 'web',
      },
    });
    return { project, actor: g.actor, token: g.token, expiresAt };
  });
  sendHtml(c.res, 200, c.nonce, tokenCard(c, out.project, out));
}

async function rotate(c: OwnerCall): Promise<void> {
  const out = await transact(c.deps.db, async (trx) => {
    // Mint before revoke, in one transaction under the participation's row lock (as admin_rotate).
    const { project, p, actor } = await lockedParticipation(c, trx);
    const { token, hash } = mintToken();
    const minted = await insertToken(trx, project.id, p.id, hash, null);
    const revoked = await revokeTokensOf(trx, project.id, p.id, minted.id);
    await appendEvent(trx, project.id, {
      type: 'token_rotated',
      actor: c.session.handle,
      data: { participant: actor, revoked, expires_at: null, via: 'web' },
    });
    return { project, actor, token, expiresAt: null, replaced: revoked };
  });
  sendHtml(c.res, 200, c.nonce, tokenCard(c, out.project, out));
}

async function revoke(c: OwnerCall): Promise<void> {
  const project = await transact(c.deps.db, async (trx) => {
    const { project, p, actor } = await lockedParticipation(c, trx);
    const revoked = await revokeTokensOf(trx, project.id, p.id);
    await closeSessionsOf(trx, project.id, p.id);
    await appendEvent(trx, project.id, {
      type: 'tokens_revoked',
      actor: c.session.handle,
      data: { participant: actor, revoked, via: 'web' },
    });
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=revoked#participants`);
}

async function setAdmin(c: OwnerCall): Promise<void> {
  const f = fields(z.object({ is_admin: z.enum(['true', 'false']) }), c.form);
  const isAdmin = f.is_admin === 'true';
  const project = await transact(c.deps.db, async (trx) => {
    const { project, p, actor } = await lockedParticipation(c, trx);
    if (p.is_admin === isAdmin) return project;
    await updateParticipation(trx, project.id, p.id, { isAdmin });
    await appendEvent(trx, project.id, {
      type: 'participant_updated',
      actor: c.session.handle,
      data: { participant: actor, is_admin: isAdmin, via: 'web' },
    });
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=admin-set#participants`);
}

const INVITE = z.object({
  participant: optional(LABEL),
  kind: KIND,
  lane: optional(LANE),
  uses: whole(1, 1000),
  ttl_hours: whole(1, 720),
  is_admin: checkbox,
});

async function createInvite(c: OwnerCall): Promise<void> {
  const f = fields(INVITE, c.form, LABELS);
  const out = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    if (f.participant && (await findParticipant(trx, c.session.ownerId, f.participant))) {
      throw conflict(
        `the name "${f.participant}" is taken; choose another, or grant that participant a token`,
      );
    }
    const { code, hash } = mintInviteCode();
    const invite = await insertInvite(trx, {
      projectId: project.id,
      codeHash: hash,
      createdBy: c.session.handle,
      label: f.participant ?? null,
      kind: f.kind,
      lane: f.lane ?? null,
      isAdmin: f.is_admin,
      uses: f.uses,
      ttlHours: f.ttl_hours,
    });
    await appendEvent(trx, project.id, {
      type: 'invite_created',
      actor: c.session.handle,
      data: {
        invite_id: Number(invite.id),
        participant: f.participant ?? null,
        kind: f.kind,
        lane: f.lane ?? null,
        is_admin: f.is_admin,
        uses: f.uses,
        expires_at: invite.expires_at,
        via: 'web',
      },
    });
    return { project, code, expiresAt: invite.expires_at };
  });
  sendHtml(
    c.res,
    200,
    c.nonce,
    inviteCard(c, out.project, { ...out, uses: f.uses, label: f.participant ?? null }),
  );
}

async function endInvite(c: OwnerCall): Promise<void> {
  const project = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const id = c.params.invite ?? '';
    if (!(await ownedInvite(trx, c.session.ownerId, project.id, id))) {
      throw notFound('no such invite in this project');
    }
    const ended = await revokeInvite(trx, project.id, { id });
    if (!ended) throw conflict('this invite was already revoked');
    await appendEvent(trx, project.id, {
      type: 'invite_revoked',
      actor: c.session.handle,
      data: { invite_id: Number(ended.id), uses_left: ended.uses_left, via: 'web' },
    });
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=invite-revoked#invites`);
}

async function setLiveness(c: OwnerCall): Promise<void> {
  const { seconds } = fields(z.object({ seconds: whole(10, 604_800) }), c.form, LABELS);
  const project = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const previous = await setLivenessWindow(trx, project.id, seconds);
    await appendEvent(trx, project.id, {
      type: 'liveness_window_set',
      actor: c.session.handle,
      data: { seconds, previous, via: 'web' },
    });
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=liveness-set#settings`);
}

const P = '/admin/projects/:project';

export const ACCESS_ROUTES: Route[] = [
  ownerPost(`${P}/grant`, grant, projectPage),
  ownerPost(`${P}/participations/:participation/rotate`, rotate, projectPage),
  ownerPost(`${P}/participations/:participation/revoke`, revoke, projectPage),
  ownerPost(`${P}/participations/:participation/admin`, setAdmin, projectPage),
  ownerPost(`${P}/invites`, createInvite, projectPage),
  ownerPost(`${P}/invites/:invite/revoke`, endInvite, projectPage),
  ownerPost(`${P}/liveness`, setLiveness, projectPage),
];
