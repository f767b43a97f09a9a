import { grantAndMint } from '../auth/provision.js';
import { mintToken } from '../auth/tokens.js';
import { conflict, notFound } from '../errors.js';
import {
  insertToken,
  lockParticipation,
  projectOwner,
  revokeTokensOf,
  updateParticipation,
} from '../db/identity.js';
import { appendEvent } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import { closeSessionsOf } from '../db/sessions.js';
import type { Acting, Target } from './acting.js';

// Granting, rotating and revoking tokens: one implementation each, whichever edge (tool, web
// form, command line) asks. Each appends exactly one event, without the token, as its last
// statement; the edges only parse input and shape output.

const expiryAfterDays = (days: number | undefined): Date | null =>
  days === undefined ? null : new Date(Date.now() + days * 86_400_000);

export interface ProvisionInput {
  participant: string;
  kind?: 'agent' | 'human';
  lane?: string;
  isAdmin?: boolean;
  ttlDays?: number;
  /** What the caller created first in the same transaction (the command line's owner, project). */
  alsoCreated?: string[];
}

export interface Provisioned {
  actor: string;
  participationId: string;
  token: string;
  expiresAt: Date | null;
  created: string[];
}

/** Adds (or reuses) a participant of the project's owner in the project and mints a token. */
export async function provision(
  trx: Trx,
  projectId: string,
  by: Acting,
  input: ProvisionInput,
): Promise<Provisioned> {
  const owner = await projectOwner(trx, projectId);
  const expiresAt = expiryAfterDays(input.ttlDays);
  const grant = await grantAndMint(
    trx,
    {
      projectId,
      ownerId: owner.owner_id,
      ownerHandle: owner.handle,
      label: input.participant,
      kind: input.kind,
      lane: input.lane,
      isAdmin: input.isAdmin,
    },
    { expiresAt },
  );
  const created = [...(input.alsoCreated ?? []), ...grant.created];
  await appendEvent(trx, projectId, {
    type: 'participant_provisioned',
    actor: by.actor,
    participationId: by.participationId,
    data: {
      participant: grant.actor,
      created,
      kind: grant.kind,
      lane: input.lane ?? null,
      is_admin: input.isAdmin ?? null,
      expires_at: expiresAt,
      via: by.via,
    },
  });
  return {
    actor: grant.actor,
    participationId: grant.participationId,
    token: grant.token,
    expiresAt,
    created,
  };
}

/** The targeted participation, row-locked: rotations and revocations of one participant queue. */
async function lockedTarget(trx: Trx, projectId: string, target: Target) {
  const p = await lockParticipation(trx, projectId, target);
  if (!p) {
    const named = 'label' in target ? ` "${target.label}"` : '';
    throw notFound(`no participant${named} in this project; see list_participants`);
  }
  return { ...p, actor: `${p.handle}/${p.label}` };
}

export interface Rotated {
  actor: string;
  token: string;
  revoked: number;
  expiresAt: Date | null;
}

/**
 * Replaces a participant's tokens with a new one. The new token is inserted before the old ones
 * are revoked, under the participation's row lock, and both become visible at commit together.
 */
export async function rotate(
  trx: Trx,
  projectId: string,
  by: Acting,
  input: { target: Target; ttlDays?: number },
): Promise<Rotated> {
  const p = await lockedTarget(trx, projectId, input.target);
  const { token, hash } = mintToken();
  const expiresAt = expiryAfterDays(input.ttlDays);
  const minted = await insertToken(trx, projectId, p.id, hash, expiresAt);
  const revoked = await revokeTokensOf(trx, projectId, p.id, minted.id);
  await appendEvent(trx, projectId, {
    type: 'token_rotated',
    actor: by.actor,
    participationId: by.participationId,
    data: { participant: p.actor, revoked, expires_at: expiresAt, via: by.via },
  });
  return { actor: p.actor, token, revoked, expiresAt };
}

/** Grants or withdraws a participant's admin rights; nothing is recorded when they stand. */
export async function setAdminRights(
  trx: Trx,
  projectId: string,
  by: Acting,
  input: { target: Target; isAdmin: boolean },
): Promise<{ actor: string; changed: boolean }> {
  const p = await lockedTarget(trx, projectId, input.target);
  if (p.is_admin === input.isAdmin) return { actor: p.actor, changed: false };
  await updateParticipation(trx, projectId, p.id, { isAdmin: input.isAdmin });
  await appendEvent(trx, projectId, {
    type: 'participant_updated',
    actor: by.actor,
    participationId: by.participationId,
    data: { participant: p.actor, is_admin: input.isAdmin, via: by.via },
  });
  return { actor: p.actor, changed: true };
}

/** Revokes every token of a participant and ends its MCP sessions. */
export async function revoke(
  trx: Trx,
  projectId: string,
  by: Acting,
  input: { target: Target },
): Promise<{ actor: string; revoked: number }> {
  const p = await lockedTarget(trx, projectId, input.target);
  if (p.id === by.participationId) {
    throw conflict('you cannot revoke your own tokens; ask another admin, or use admin_rotate');
  }
  const revoked = await revokeTokensOf(trx, projectId, p.id);
  await closeSessionsOf(trx, projectId, p.id);
  await appendEvent(trx, projectId, {
    type: 'tokens_revoked',
    actor: by.actor,
    participationId: by.participationId,
    data: { participant: p.actor, revoked, via: by.via },
  });
  return { actor: p.actor, revoked };
}
