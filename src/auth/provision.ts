import { AppError, invalid } from '../errors.js';
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
  setParticipationAdmin,
} from '../db/identity.js';
import { transact, type Db } from '../db/pool.js';
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
  if (base.length < 2) base = `owner${base}`;
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

export async function seedToken(db: Db, input: SeedInput): Promise<SeedResult> {
  if (!SLUG.safeParse(input.projectSlug).success) {
    throw invalid('a project slug is 1–64 characters of a-z, 0-9 and -');
  }
  if (!LABEL.safeParse(input.label).success) {
    throw invalid('a participant label is 1–64 printable characters without "/"');
  }
  const { owner, created: ownerCreated } = await ensureOwner(db, input.email);
  return transact(db, async (trx) => {
    const created: string[] = ownerCreated ? ['owner'] : [];
    await advisoryXactLock(trx, 'owner-provision', owner.id);
    let project = await findProject(trx, owner.id, input.projectSlug);
    if (!project) {
      project = await insertProject(trx, owner.id, input.projectSlug, input.projectSlug);
      created.push('project');
    }
    let participant = await findParticipant(trx, owner.id, input.label);
    if (!participant) {
      participant = await insertParticipant(trx, owner.id, input.label, input.kind ?? 'agent');
      created.push('participant');
    }
    let participation = await findParticipation(trx, project.id, participant.id);
    if (!participation) {
      participation = await insertParticipation(trx, project.id, participant.id, {
        isAdmin: input.admin ?? false,
      });
      created.push('participation');
    } else if (input.admin && !participation.is_admin) {
      await setParticipationAdmin(trx, project.id, participation.id, true);
    }
    const { token, hash } = mintToken();
    await insertToken(trx, project.id, participation.id, hash);
    const actor = `${owner.handle}/${participant.label}`;
    await appendEvent(trx, project.id, {
      type: 'token_minted',
      actor: owner.handle,
      data: {
        participant: actor,
        via: 'seed-token',
        created,
        is_admin: input.admin ?? participation.is_admin,
      },
    });
    return { token, actor, project: project.slug, participant: participant.label, created };
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
