import { hashToken, mintInviteCode } from '../auth/tokens.js';
import { conflict, notFound } from '../errors.js';
import { findParticipant, projectOwner } from '../db/identity.js';
import { findInvite, insertInvite, revokeInvite as endInvite } from '../db/invites.js';
import { appendEvent } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import type { Acting } from './acting.js';
import { INVITE_TTL_HOURS, INVITE_USES } from './limits.js';

// Invites: a code, shown once and stored hashed, that POST /join redeems for a token. Creating
// and revoking one is the same act from a tool or a web form, with the same defaults.

export interface InviteInput {
  participant?: string;
  kind?: 'agent' | 'human';
  lane?: string;
  isAdmin?: boolean;
  uses?: number;
  ttlHours?: number;
}

export interface CreatedInvite {
  code: string;
  inviteId: number;
  expiresAt: Date;
  uses: number;
}

export async function createInvite(
  trx: Trx,
  projectId: string,
  by: Acting,
  input: InviteInput,
): Promise<CreatedInvite> {
  if (input.participant !== undefined) {
    const owner = await projectOwner(trx, projectId);
    if (await findParticipant(trx, owner.owner_id, input.participant)) {
      throw conflict(
        `the name "${input.participant}" is taken; choose another, or grant that participant a token`,
      );
    }
  }
  const { code, hash } = mintInviteCode();
  const uses = input.uses ?? INVITE_USES.default;
  const kind = input.kind ?? 'agent';
  const invite = await insertInvite(trx, {
    projectId,
    codeHash: hash,
    createdBy: by.actor,
    label: input.participant ?? null,
    kind,
    lane: input.lane ?? null,
    isAdmin: input.isAdmin ?? false,
    uses,
    ttlHours: input.ttlHours ?? INVITE_TTL_HOURS.default,
  });
  await appendEvent(trx, projectId, {
    type: 'invite_created',
    actor: by.actor,
    participationId: by.participationId,
    data: {
      invite_id: Number(invite.id),
      participant: input.participant ?? null,
      kind,
      lane: input.lane ?? null,
      is_admin: input.isAdmin ?? false,
      uses,
      expires_at: invite.expires_at,
      via: by.via,
    },
  });
  return { code, inviteId: Number(invite.id), expiresAt: invite.expires_at, uses };
}

/**
 * Ends a live invite early, named by its code or its id. Revoking one already revoked changes
 * nothing and says so (`revoked: false`, no event): a retried request is not an error.
 */
export async function revokeInvite(
  trx: Trx,
  projectId: string,
  by: Acting,
  which: { code: string } | { inviteId: string },
): Promise<{ inviteId: number; usesLeft: number; revoked: boolean }> {
  const key = 'code' in which ? { codeHash: hashToken(which.code) } : { id: which.inviteId };
  const ended = await endInvite(trx, projectId, key);
  if (!ended) {
    const found = await findInvite(trx, projectId, key);
    if (found?.revoked) {
      return { inviteId: Number(found.id), usesLeft: found.uses_left, revoked: false };
    }
    throw notFound('no invite of this project matches that code or id; see the project page');
  }
  await appendEvent(trx, projectId, {
    type: 'invite_revoked',
    actor: by.actor,
    participationId: by.participationId,
    data: { invite_id: Number(ended.id), uses_left: ended.uses_left, via: by.via },
  });
  return { inviteId: Number(ended.id), usesLeft: ended.uses_left, revoked: true };
}
