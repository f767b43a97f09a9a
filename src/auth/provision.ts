import { AppError, conflict, invalid } from '../errors.js';
import { advisoryXactLock } from '../db/locks.js';
import { appendEvent } from '../db/ledger.js';
import {
  anyOwnerExists,
  findOwnerByEmail,
  findParticipant,
  findParticipation,
  findProject,
  handleTaken,
  insertOwner,
  insertParticipant,
  insertParticipation,
  insertProject,
  insertToken,
  updateParticipation,
} from '../db/identity.js';
import { transact, type Db, type Trx } from '../db/pool.js';
import { mintToken } from './tokens.js';
import { LABEL, SLUG, EMAIL, HANDLE } from '../names.js';

// Creating owners, projects and participants, and minting tokens: shared by the CLI verbs and
// first-run bootstrap. Each operation is one transaction; identity acts are recorded in the
// project's ledger without the token.

export interface SeedInput {
  email: string;
  projectSlug: string;
  label: string;
  kind?: 'agent' | 'human';
  admin?: boolean;
}

export interface SeedResult {
  token: string;
  actor: string;
  project: string;
  participant: string;
  created: string[];
}

/** The owner's handle from an email: its local part made legal, with a suffix on collision. */
export async function deriveHandle(db: Db, email: string): Promise<string> {
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
    created,
  };
}

export async function seedToken(db: Db, input: SeedInput): Promise<SeedResult> {
  if (!SLUG.safeParse(input.projectSlug).success) {
    throw invalid('a project slug is 1–64 characters of a-z, 0-9 and -');
  }
  if (!LABEL.safeParse(input.label).success) {
    throw invalid('a participant label is 1–64 printable characters without "/"');
  }
  const { owner, created: ownerCreated } = await ensureOwner(db, input.email);
  return transact(db, async (trx) => {
    await advisoryXactLock(trx, 'owner-projects', owner.id);
    let project = await findProject(trx, owner.id, input.projectSlug);
    const created: string[] = ownerCreated ? ['owner'] : [];
    if (!project) {
      project = await insertProject(trx, owner.id, input.projectSlug, input.projectSlug);
      created.push('project');
    }
    const grant = await grantAndMint(trx, {
      projectId: project.id,
      ownerId: owner.id,
      ownerHandle: owner.handle,
      label: input.label,
      kind: input.kind,
      isAdmin: input.admin ? true : undefined,
    });
    created.push(...grant.created);
    await appendEvent(trx, project.id, {
      type: 'token_minted',
      actor: owner.handle,
      data: {
        participant: grant.actor,
        via: 'seed-token',
        created,
        is_admin: input.admin ?? false,
      },
    });
    return {
      token: grant.token,
      actor: grant.actor,
      project: project.slug,
      participant: input.label,
      created,
    };
  });
}

/**
 * First start on an empty database: owner admin@localhost, project `default`, admin participant
 * `lead`. Serialised by an advisory lock so two processes starting together bootstrap once.
 * Returns the token only when this call created it.
 */
export async function bootstrapFirstRun(db: Db): Promise<SeedResult | undefined> {
  return transact(db, async (trx) => {
    await advisoryXactLock(trx, 'first-run-bootstrap');
    if (await anyOwnerExists(trx)) return undefined;
    return seedToken(trx, {
      email: 'admin@localhost',
      projectSlug: 'default',
      label: 'lead',
      kind: 'agent',
      admin: true,
    });
  });
}
