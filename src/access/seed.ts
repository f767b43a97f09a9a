import { ensureOwner } from '../auth/provision.js';
import { invalid } from '../errors.js';
import { anyOwnerExists, findProject, insertProject } from '../db/identity.js';
import { advisoryXactLock } from '../db/locks.js';
import { transact, type Db } from '../db/pool.js';
import { LABEL, SLUG } from '../names.js';
import { provision } from './tokens.js';

// The command line's way in (`baton seed-token`, first-run bootstrap): create whatever is missing
// of owner, project and participant, then grant a token through the same act as the admin tool
// and the web form, recorded with `via: 'cli'` and the owner as the actor.

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
    const granted = await provision(
      trx,
      project.id,
      { actor: owner.handle, participationId: null, via: 'cli' },
      {
        participant: input.label,
        kind: input.kind,
        isAdmin: input.admin ? true : undefined,
        alsoCreated: created,
      },
    );
    return {
      token: granted.token,
      actor: granted.actor,
      project: project.slug,
      participant: input.label,
      created: granted.created,
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
