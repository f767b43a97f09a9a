import { AppError, conflict, invalid } from '../errors.js';
import { advisoryXactLock } from '../db/locks.js';
import {
  findOwnerByEmail,
  findParticipant,
  findParticipation,
  handleTaken,
  insertOwner,
  insertParticipant,
  insertParticipation,
  insertToken,
  updateParticipation,
} from '../db/identity.js';
import { transact, type Db, type Trx } from '../db/pool.js';
import { mintToken } from './tokens.js';
import { EMAIL, HANDLE } from '../names.js';

// Creating owners and participants and minting tokens: the primitives under the administrative
// acts of src/access (which record them in the ledger) and invite redemption (POST /join).

/** The owner's handle from an email: its local part made legal, with a suffix on collision. */
async function deriveHandle(db: Db, email: string): Promise<string> {
  let base = (email.split('@')[0] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/-+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 28)
    .replace(/-$/, '');
  if (base.length < 2) base = base ? `owner-${base}` : 'owner';
  if (!(await handleTaken(db, base))) return base;
  for (let n = 2; n < 1000; n++) {
    const candidate = `${base}-${n}`;
    if (!(await handleTaken(db, candidate))) return candidate;
  }
  throw new AppError('conflict', `no free handle near "${base}"; pass one explicitly`);
}

export async function ensureOwner(db: Db, email: string, handle?: string) {
  const e = EMAIL.safeParse(email);
  if (!e.success) throw invalid(`"${email}" is not an email address`);
  if (handle !== undefined && !HANDLE.safeParse(handle).success) {
    throw invalid('a handle is 2–32 characters of a-z, 0-9 and -');
  }
  return transact(db, async (trx) => {
    // Serialise creation per email so two concurrent seeds cannot both create the owner.
    await advisoryXactLock(trx, 'owner-email', e.data.toLowerCase());
    const existing = await findOwnerByEmail(trx, e.data);
    if (existing) {
      if (handle !== undefined && handle !== existing.handle) {
        throw new AppError('conflict', `${e.data} already has the handle "${existing.handle}"`);
      }
      return { owner: existing, created: false };
    }
    if (handle !== undefined && (await handleTaken(trx, handle))) {
      throw new AppError('conflict', `the handle "${handle}" is taken; choose another`);
    }
    const owner = await insertOwner(trx, e.data, handle ?? (await deriveHandle(trx, e.data)));
    return { owner, created: true };
  });
}

export interface GrantInput {
  projectId: string;
  ownerId: string;
  ownerHandle: string;
  label: string;
  kind?: 'agent' | 'human';
  lane?: string | null;
  isAdmin?: boolean;
  /** Refuse a label the owner already uses (invite redemption), instead of reusing it. */
  requireNew?: boolean;
}

export interface Grant {
  participationId: string;
  participantId: string;
  actor: string;
  token: string;
  tokenId: string;
  kind: 'agent' | 'human';
  created: string[];
}

/**
 * Puts a participant into a project (creating the participant under the project's owner when
 * needed), applies lane and admin flag when given, and mints a token. Locks per owner, so two
 * concurrent grants of one label cannot both create it. The caller records the ledger event.
 */
export async function grantAndMint(
  trx: Trx,
  g: GrantInput,
  opts: { expiresAt?: Date | null } = {},
): Promise<Grant> {
  await advisoryXactLock(trx, 'owner-provision', g.ownerId);
  const created: string[] = [];
  let participant = await findParticipant(trx, g.ownerId, g.label);
  if (participant && g.requireNew) {
    throw conflict(`the name "${g.label}" is taken; choose another`);
  }
  if (participant && g.kind !== undefined && participant.kind !== g.kind) {
    throw conflict(
      `${g.ownerHandle}/${g.label} exists as ${participant.kind}; omit kind or use ${participant.kind}`,
    );
  }
  if (!participant) {
    participant = await insertParticipant(trx, g.ownerId, g.label, g.kind ?? 'agent');
    created.push('participant');
  }
  let participation = await findParticipation(trx, g.projectId, participant.id);
  if (!participation) {
    participation = await insertParticipation(trx, g.projectId, participant.id, {
      lane: g.lane ?? null,
      isAdmin: g.isAdmin ?? false,
    });
    created.push('participation');
  } else {
    await updateParticipation(trx, g.projectId, participation.id, {
      lane: g.lane,
      isAdmin: g.isAdmin,
    });
  }
  const { token, hash } = mintToken();
  const row = await insertToken(trx, g.projectId, participation.id, hash, opts.expiresAt ?? null);
  return {
    participationId: participation.id,
    participantId: participant.id,
    actor: `${g.ownerHandle}/${participant.label}`,
    token,
    tokenId: row.id,
    kind: participant.kind,
    created,
  };
}
