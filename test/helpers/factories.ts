import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { mintInviteCode, mintToken } from '../../src/auth/tokens.js';
import {
  insertOwner,
  insertParticipant,
  insertParticipation,
  insertProject,
  insertToken,
} from '../../src/db/identity.js';
import { insertInvite } from '../../src/db/invites.js';
import { insertLease, nextFencingToken, type LeaseRow, type Mode } from '../../src/db/leases.js';
import { transact, type Db, type Trx } from '../../src/db/pool.js';
import type { TaskStatus } from '../../src/db/schema.js';
import { insertDeps, insertTask, updateTask } from '../../src/db/tasks.js';

// Row factories for tests. Each call makes rows of its own (unique slugs, labels, handles and
// emails), so no test leans on rows another test made. They take either a transaction (the
// rolled-back tier: the rows vanish with it) or the pool (the rows commit, for tests that need
// several connections to see them), and insert through the query functions of src/db.

type Executor = Db | Trx;

const RUN = randomBytes(3).toString('hex');
let made = 0;

/** A name no other call in this process returns: `<prefix>-<run>-<n>`. */
export function unique(prefix: string): string {
  return `${prefix}-${RUN}-${++made}`;
}

export interface MadeOwner {
  id: string;
  email: string;
  handle: string;
}

export async function makeOwner(
  db: Executor,
  o: { email?: string; handle?: string } = {},
): Promise<MadeOwner> {
  const handle = o.handle ?? unique('owner');
  return transact(db, (trx) => insertOwner(trx, o.email ?? `${handle}@example.test`, handle));
}

export interface MadeProject {
  id: string;
  slug: string;
  owner: MadeOwner;
}

export async function makeProject(
  db: Executor,
  p: { owner?: MadeOwner; slug?: string; name?: string } = {},
): Promise<MadeProject> {
  const owner = p.owner ?? (await makeOwner(db));
  const slug = p.slug ?? unique('project');
  const row = await transact(db, (trx) => insertProject(trx, owner.id, slug, p.name ?? slug));
  return { id: row.id, slug: row.slug, owner };
}

export interface MadeParticipation {
  /** The participation's id. */
  id: string;
  participantId: string;
  project: MadeProject;
  label: string;
  actor: string;
  /** A bearer token for it, when asked for with `token: true`. */
  token?: string;
}

/**
 * A participant (of the project's owner) taking part in a project, made with the project when
 * none is given. `seenSecondsAgo` backdates its liveness against the database clock.
 */
export async function makeParticipation(
  db: Executor,
  p: {
    project?: MadeProject;
    label?: string;
    kind?: 'agent' | 'human';
    lane?: string | null;
    admin?: boolean;
    token?: boolean;
    seenSecondsAgo?: number;
  } = {},
): Promise<MadeParticipation> {
  const project = p.project ?? (await makeProject(db));
  const label = p.label ?? unique('agent');
  return transact(db, async (trx) => {
    const participant = await insertParticipant(trx, project.owner.id, label, p.kind ?? 'agent');
    const participation = await insertParticipation(trx, project.id, participant.id, {
      lane: p.lane ?? null,
      isAdmin: p.admin ?? false,
    });
    let token: string | undefined;
    if (p.token) {
      const minted = mintToken();
      await insertToken(trx, project.id, participation.id, minted.hash);
      token = minted.token;
    }
    if (p.seenSecondsAgo !== undefined) {
      await seenAgo(trx, project.id, participation.id, p.seenSecondsAgo);
    }
    return {
      id: participation.id,
      participantId: participant.id,
      project,
      label,
      actor: `${project.owner.handle}/${label}`,
      ...(token ? { token } : {}),
    };
  });
}

/** Sets a participation's last sign of life to `seconds` before the database's now(). */
async function seenAgo(
  db: Executor,
  projectId: string,
  participationId: string,
  seconds: number,
): Promise<void> {
  // No query function writes a chosen time: touchParticipation only ever writes now().
  await sql`update participations set last_seen_at = now() - make_interval(secs => ${seconds})
            where project_id = ${projectId} and id = ${participationId}`.execute(db);
}

export interface MadeTask {
  id: string;
  project: MadeProject;
}

/**
 * A task created by `by` (a new participation when not given). `owner` assigns it; `status`
 * then moves it as the transitions would (in_progress starts it for its owner, with
 * `holdSeconds` as task_claim_next sets it).
 */
export async function makeTask(
  db: Executor,
  t: {
    project: MadeProject;
    by?: MadeParticipation;
    title?: string;
    lane?: string | null;
    owner?: MadeParticipation;
    status?: TaskStatus;
    holdSeconds?: number;
    parent?: string;
    dependsOn?: string[];
  },
): Promise<MadeTask> {
  const by = t.by ?? (await makeParticipation(db, { project: t.project }));
  const id = await transact(db, async (trx) => {
    const taskId = await insertTask(trx, t.project.id, {
      title: t.title ?? unique('task'),
      detail: null,
      lane: t.lane ?? null,
      ownerParticipationId: t.owner?.id ?? null,
      parentId: t.parent ?? null,
      createdBy: by.actor,
      createdByParticipationId: by.id,
      idempotencyKey: null,
    });
    await insertDeps(trx, t.project.id, taskId, t.dependsOn ?? []);
    if (t.status !== undefined || t.holdSeconds !== undefined) {
      await updateTask(trx, t.project.id, taskId, {
        status: t.status,
        started: t.status === 'in_progress' ? true : undefined,
        holdSeconds: t.holdSeconds,
      });
    }
    return taskId;
  });
  return { id, project: t.project };
}

/** A lease held by `holder`; a negative `ttlSeconds` makes one that has already expired. */
export async function makeLease(
  db: Executor,
  l: {
    holder: MadeParticipation;
    surface?: string;
    mode?: Mode;
    ttlSeconds?: number;
    note?: string | null;
  },
): Promise<LeaseRow> {
  const projectId = l.holder.project.id;
  const ttl = l.ttlSeconds ?? 900;
  return transact(db, async (trx) => {
    const lease = await insertLease(trx, projectId, {
      participationId: l.holder.id,
      actor: l.holder.actor,
      surface: l.surface ?? `src/${unique('file')}.ts`,
      mode: l.mode ?? 'exclusive',
      fencingToken: await nextFencingToken(trx, projectId),
      note: l.note ?? null,
      ttlSeconds: Math.max(ttl, 1),
    });
    if (ttl > 0) return lease;
    // An expired lease: granted, then its expiry moved into the past (a TTL is always positive).
    await sql`update leases set expires_at = now() + make_interval(secs => ${ttl})
              where project_id = ${projectId} and id = ${lease.id}`.execute(trx);
    return { ...lease, live: false, expires_in: ttl };
  });
}

/** Who holds leases made in bulk: a made participation, or an agent known by its token. */
export type LeaseHolder = MadeParticipation | { token: string; actor: string };

/** Where the next bulk of fencing tokens starts: far above any project's counter. */
let bulkFencing = 1_000_000_000;

/**
 * Leases on `surfaces` held by `holder`, in one insert straight into the table: the way to bring
 * a holder near a cap without granting each. `ttl` (seconds, default 600) may be negative for
 * leases that have already expired; `mode` defaults to shared. Their fencing tokens lie above
 * the project's counter, so grants made later never collide with them.
 */
export async function makeLeases(
  db: Executor,
  holder: LeaseHolder,
  surfaces: string[],
  l: { ttl?: number; mode?: Mode } = {},
): Promise<void> {
  const base = bulkFencing;
  bulkFencing += surfaces.length;
  const who =
    'project' in holder
      ? sql`select ${holder.project.id}::bigint as project_id,
                   ${holder.id}::bigint as participation_id`
      : sql`select project_id, participation_id from tokens
            where token_hash = sha256(${holder.token}::bytea)`;
  const { numAffectedRows } = await sql`
    insert into leases (project_id, participation_id, actor, surface, mode, fencing_token,
                        expires_at)
    select w.project_id, w.participation_id, ${holder.actor}, t.s, ${l.mode ?? 'shared'},
           ${base}::bigint + t.n, now() + make_interval(secs => ${l.ttl ?? 600})
    from (${who}) w cross join unnest(${surfaces}::text[]) with ordinality as t(s, n)`.execute(db);
  if (Number(numAffectedRows) !== surfaces.length) {
    throw new Error(`made ${numAffectedRows} of ${surfaces.length} leases for ${holder.actor}`);
  }
}

/** An invite to the project, as created by its owner. */
export async function makeInvite(
  db: Executor,
  i: { project: MadeProject; uses?: number; ttlHours?: number },
): Promise<{ id: string; code: string }> {
  const { code, hash } = mintInviteCode();
  const row = await transact(db, (trx) =>
    insertInvite(trx, {
      projectId: i.project.id,
      codeHash: hash,
      createdBy: i.project.owner.handle,
      label: null,
      kind: 'agent',
      lane: null,
      isAdmin: false,
      uses: i.uses ?? 1,
      ttlHours: i.ttlHours ?? 24,
    }),
  );
  return { id: row.id, code };
}
