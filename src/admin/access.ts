import { z } from 'zod';
import type { Acting } from '../access/acting.js';
import { createInvite, revokeInvite } from '../access/invites.js';
import {
  INVITE_TTL_HOURS,
  INVITE_USES,
  LIVENESS_WINDOW_SECONDS,
  TOKEN_TTL_DAYS,
} from '../access/limits.js';
import { setLivenessWindow } from '../access/settings.js';
import { provision, revoke, rotate, setAdminRights } from '../access/tokens.js';
import { transact } from '../db/pool.js';
import { LABEL, LANE } from '../names.js';
import { checkbox, fields, KIND, optional, whole } from './forms.js';
import { redirect, sendHtml } from './layout.js';
import { inviteCard, tokenCard } from './handout.js';
import { projectPage, projectPath, requireProject } from './project-page.js';
import { ownerPost, type OwnerCall, type Route } from './types.js';

// Who may act in a project, as web forms: granting tokens (a hand-out card, shown once),
// rotating, revoking, admin rights, invites and the liveness window. Each form parses its fields
// and performs the same act of src/access as the admin tool, with the owner's handle as the actor.

const LABELS = {
  participant: 'Participant',
  kind: 'Kind',
  lane: 'Lane',
  ttl_days: 'Expires in days',
  uses: 'Uses',
  ttl_hours: 'Valid hours',
  seconds: 'Liveness window',
};

const acting = (c: OwnerCall): Acting => ({
  actor: c.session.handle,
  participationId: null,
  via: 'web',
});

const TTL_DAYS = optional(whole(TOKEN_TTL_DAYS.min, TOKEN_TTL_DAYS.max));

const GRANT = z.object({
  participant: LABEL,
  kind: optional(KIND),
  lane: optional(LANE),
  ttl_days: TTL_DAYS,
  is_admin: checkbox,
});

async function grant(c: OwnerCall): Promise<void> {
  const f = fields(GRANT, c.form, LABELS);
  const out = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const g = await provision(trx, project.id, acting(c), {
      participant: f.participant,
      kind: f.kind,
      lane: f.lane,
      isAdmin: f.is_admin ? true : undefined,
      ttlDays: f.ttl_days,
    });
    return { project, actor: g.actor, token: g.token, expiresAt: g.expiresAt };
  });
  sendHtml(c.res, 200, c.nonce, tokenCard(c, out.project, out));
}

/** The participation a path names (the router has checked it is this owner's). */
const target = (c: OwnerCall) => ({ participationId: c.params.participation ?? '' });

async function rotateTokens(c: OwnerCall): Promise<void> {
  const f = fields(z.object({ ttl_days: TTL_DAYS }), c.form, LABELS);
  const out = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const r = await rotate(trx, project.id, acting(c), { target: target(c), ttlDays: f.ttl_days });
    return { project, actor: r.actor, token: r.token, expiresAt: r.expiresAt, replaced: r.revoked };
  });
  sendHtml(c.res, 200, c.nonce, tokenCard(c, out.project, out));
}

async function revokeTokens(c: OwnerCall): Promise<void> {
  const project = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    await revoke(trx, project.id, acting(c), { target: target(c) });
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=revoked#participants`);
}

async function setAdmin(c: OwnerCall): Promise<void> {
  const f = fields(z.object({ is_admin: z.enum(['true', 'false']) }), c.form);
  const isAdmin = f.is_admin === 'true';
  const project = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    await setAdminRights(trx, project.id, acting(c), { target: target(c), isAdmin });
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=admin-set#participants`);
}

const INVITE = z.object({
  participant: optional(LABEL),
  kind: optional(KIND),
  lane: optional(LANE),
  uses: optional(whole(INVITE_USES.min, INVITE_USES.max)),
  ttl_hours: optional(whole(INVITE_TTL_HOURS.min, INVITE_TTL_HOURS.max)),
  is_admin: checkbox,
});

async function newInvite(c: OwnerCall): Promise<void> {
  const f = fields(INVITE, c.form, LABELS);
  const out = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const invite = await createInvite(trx, project.id, acting(c), {
      participant: f.participant,
      kind: f.kind,
      lane: f.lane,
      isAdmin: f.is_admin,
      uses: f.uses,
      ttlHours: f.ttl_hours,
    });
    return { project, code: invite.code, expiresAt: invite.expiresAt, uses: invite.uses };
  });
  sendHtml(
    c.res,
    200,
    c.nonce,
    inviteCard(c, out.project, { ...out, label: f.participant ?? null }),
  );
}

async function endInvite(c: OwnerCall): Promise<void> {
  const project = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    const ended = await revokeInvite(trx, project.id, acting(c), {
      inviteId: c.params.invite ?? '',
    });
    return { project, done: ended.revoked ? 'invite-revoked' : 'invite-already-revoked' };
  });
  redirect(c.res, `${projectPath(project.project)}?done=${project.done}#invites`);
}

async function setLiveness(c: OwnerCall): Promise<void> {
  const { seconds } = fields(
    z.object({ seconds: whole(LIVENESS_WINDOW_SECONDS.min, LIVENESS_WINDOW_SECONDS.max) }),
    c.form,
    LABELS,
  );
  const project = await transact(c.deps.db, async (trx) => {
    const project = await requireProject(c, trx, { lock: true });
    await setLivenessWindow(trx, project.id, acting(c), seconds);
    return project;
  });
  redirect(c.res, `${projectPath(project)}?done=liveness-set#settings`);
}

const P = '/admin/projects/:project';

export const ACCESS_ROUTES: Route[] = [
  ownerPost(`${P}/grant`, grant, projectPage),
  ownerPost(`${P}/participations/:participation/rotate`, rotateTokens, projectPage),
  ownerPost(`${P}/participations/:participation/revoke`, revokeTokens, projectPage),
  ownerPost(`${P}/participations/:participation/admin`, setAdmin, projectPage),
  ownerPost(`${P}/invites`, newInvite, projectPage),
  ownerPost(`${P}/invites/:invite/revoke`, endInvite, projectPage),
  ownerPost(`${P}/liveness`, setLiveness, projectPage),
];
