import { ctxOf, type Ctx } from '../ctx.js';
import { conflict, notFound } from '../errors.js';
import { ownedProject } from '../db/admin.js';
import { findParticipant, insertParticipant } from '../db/identity.js';
import { advisoryXactLock } from '../db/locks.js';
import { transact, type Db, type Trx } from '../db/pool.js';
import {
  findOwnerSelf,
  findSelfParticipation,
  markOwnerSelf,
  type SelfParticipation,
} from '../db/self.js';
import { provision } from './tokens.js';

// The owner takes part in their projects as a human participant of their own, their "self"
// (spec §9): the identity behind every act of the inbox page, which the pages perform through
// the tool dispatcher with the Ctx built here, exactly as an MCP client of that participant would.
// The self is created on first use and granted into a project the first time the owner opens its
// inbox, by the same grant as the admin tool and the web form (one `participant_provisioned`
// event, the owner's handle as the actor).
//
// That grant mints a token, and the token is dropped unseen: the browser acts through the
// session, never a token. The row still matters: a participant without a live token can no
// longer call, so it receives nothing and never counts as active (spec §7), and the self's token
// is what keeps it a live participant. Revoking it on the project page is how an owner stops
// receiving there; rotating gives it a live token again.

export interface OwnerRef {
  ownerId: string;
  handle: string;
}

/** The owner's self in their project, granted into it on first use. */
export async function ensureSelf(
  db: Db,
  owner: OwnerRef,
  projectId: string,
): Promise<SelfParticipation> {
  const found = await findSelfParticipation(db, owner.ownerId, projectId);
  if (found) return found;
  return transact(db, async (trx) => {
    // The project cannot be deleted under the grant; concurrent first uses queue on the same
    // per-owner lock as every grant, and all but the first find the self granted.
    if (!(await ownedProject(trx, owner.ownerId, projectId, { lock: true }))) {
      throw notFound('no such project');
    }
    await advisoryXactLock(trx, 'owner-provision', owner.ownerId);
    const again = await findSelfParticipation(trx, owner.ownerId, projectId);
    if (again) return again;
    const self = (await findOwnerSelf(trx, owner.ownerId)) ?? (await createSelf(trx, owner));
    await provision(
      trx,
      projectId,
      { actor: owner.handle, participationId: null, via: 'web' },
      { participant: self.label, kind: 'human', isAdmin: true },
    );
    const granted = await findSelfParticipation(trx, owner.ownerId, projectId);
    if (!granted) throw new Error('the self was granted but is not found');
    return granted;
  });
}

/**
 * The self is named after the owner (`ana/ana`), or `ana/ana-human` when an agent of theirs has
 * that name. A human participant already bearing the name is taken to be the owner and adopted.
 */
async function createSelf(trx: Trx, owner: OwnerRef): Promise<{ id: string; label: string }> {
  const names = [owner.handle, `${owner.handle}-human`];
  for (const label of names) {
    const existing = await findParticipant(trx, owner.ownerId, label);
    if (existing?.kind === 'agent') continue;
    const self = existing ?? (await insertParticipant(trx, owner.ownerId, label, 'human'));
    await markOwnerSelf(trx, owner.ownerId, self.id);
    return self;
  }
  throw conflict(
    `your agents are named ${names.join(' and ')}, the names your own participant would take; rename one on the participants page`,
  );
}

/** The identity the pages act with, as bearer authentication would resolve it for a token. */
export function selfCtx(self: SelfParticipation, projectId: string, requestId: string): Ctx {
  return ctxOf({ ...self, project_id: projectId, kind: 'human' }, requestId);
}
