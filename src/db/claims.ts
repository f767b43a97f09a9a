import { sql, type RawBuilder } from 'kysely';
import { appendCtes, NOTIFY_APPENDED } from './ledger.js';
import type { Executor, Trx } from './pool.js';
import { unackedCount } from './posts.js';
import { statement } from './statement.js';

// Sequences and claims. See migrations/0003_claims_leases.sql for why a number comes from a
// locked row rather than a SEQUENCE. Lock order within a transaction: the sequence row, then the
// ledger head (last).

export interface ClaimRow {
  sequence: string;
  number: string;
  formatted: string;
  actor: string;
  at: Date;
  note: string | null;
  ref: string | null;
}

export interface SequenceRow {
  name: string;
  prefix: string;
  pad: number;
  last_number: string;
  next_formatted: string;
}

/** prefix + number zero-padded to pad digits (`ADR-0042`); a longer number is never cut. */
function formatted(prefix: RawBuilder<unknown>, pad: RawBuilder<unknown>, n: RawBuilder<unknown>) {
  return sql<string>`${prefix} || case when length(${n}::text) < ${pad}
    then lpad(${n}::text, ${pad}, '0') else ${n}::text end`;
}

export interface RecordedClaim extends ClaimRow {
  /** The claimant's unacknowledged posts, for the result's `unread` (spec §6). */
  unread: number;
}

export interface NewClaim {
  participationId: string;
  actor: string;
  note: string | null;
  ref: string | null;
}

/** The most claims taken in one statement (see ClaimQueue). */
export const MAX_CLAIM_BATCH = 100;

/**
 * Claims on one sequence in one statement: creates the sequence or bumps last_number by the
 * number of claims under the row's lock, records the claims with consecutive numbers in the
 * order given, appends a `claim` event for each (the ledger head locked last), and counts each
 * claimant's unread posts. On its own the statement is atomic and needs no BEGIN/COMMIT, so the
 * sequence row is held only for the statement and its commit; inside a transaction it must come
 * last (it takes the ledger head). If it fails or rolls back, no number is used.
 */
export async function claimNumbers(
  db: Executor,
  projectId: string,
  sequence: string,
  claims: readonly NewClaim[],
  idempotencyKey: string | null = null,
): Promise<RecordedClaim[]> {
  const n = claims.length;
  if (n < 1 || n > MAX_CLAIM_BATCH || (idempotencyKey !== null && n !== 1)) {
    throw new Error(`claimNumbers takes 1 to ${MAX_CLAIM_BATCH} claims (one with a key)`);
  }
  const rows = await CLAIM_NUMBERS.run(db, {
    projectId,
    sequence,
    n,
    input: JSON.stringify(
      claims.map((c) => ({ p: c.participationId, a: c.actor, n: c.note, r: c.ref })),
    ),
    idempotencyKey,
  });
  if (rows.length !== n) throw new Error('claim returned too few rows');
  return rows;
}

const CLAIM_NUMBERS = statement<
  {
    projectId: string;
    sequence: string;
    n: number;
    /** The claims as a JSON array of {p: participation, a: actor, n: note, r: ref}. */
    input: string;
    idempotencyKey: string | null;
  },
  RecordedClaim
>((p) => {
  const number = sql`(seq.last_number - ${p.n}::integer + i.ord)`;
  return sql<RecordedClaim>`
    with seq as (
      insert into sequences as s (project_id, name, last_number)
      values (${p.projectId}, ${p.sequence}, ${p.n})
      on conflict (project_id, name) do update set last_number = s.last_number + excluded.last_number
      returning s.name, s.last_number, s.prefix, s.pad
    ), claim as (
      insert into claims (project_id, sequence, number, formatted, participation_id, actor, note,
                          ref, idempotency_key)
      select ${p.projectId}, seq.name, ${number},
             ${formatted(sql.ref('seq.prefix'), sql.ref('seq.pad'), number)},
             (i.v->>'p')::bigint, i.v->>'a', i.v->>'n', i.v->>'r', ${p.idempotencyKey}
      from seq, jsonb_array_elements(${p.input}::jsonb) with ordinality as i(v, ord)
      returning sequence, number, formatted, participation_id, actor, at, note, ref
    ), ${appendCtes(p.projectId, 'claim', sql`claim.number`, {
      type: 'claim',
      actor: sql.ref('claim.actor'),
      participationId: sql.ref('claim.participation_id'),
      sequence: sql.ref('claim.sequence'),
      ref: sql.ref('claim.ref'),
      data: sql`jsonb_build_object('number', claim.number, 'formatted', claim.formatted,
                                    'note', claim.note)`,
    })}
    select claim.sequence, claim.number, claim.formatted, claim.actor, claim.at, claim.note,
           claim.ref, (${unackedCount(p.projectId, sql.ref('claim.participation_id'))}) as unread,
           ${NOTIFY_APPENDED} as notified
    from claim
    order by claim.number`;
});

/** The earlier claim a sender made with this idempotency key, if any. */
export async function findClaimByKey(
  db: Executor,
  projectId: string,
  participationId: string,
  key: string,
): Promise<ClaimRow | undefined> {
  return db
    .selectFrom('claims')
    .select(['sequence', 'number', 'formatted', 'actor', 'at', 'note', 'ref'])
    .where('project_id', '=', projectId)
    .where('participation_id', '=', participationId)
    .where('idempotency_key', '=', key)
    .executeTakeFirst();
}

export async function findClaim(
  db: Executor,
  projectId: string,
  sequence: string,
  number: number,
): Promise<ClaimRow | undefined> {
  return db
    .selectFrom('claims')
    .select(['sequence', 'number', 'formatted', 'actor', 'at', 'note', 'ref'])
    .where('project_id', '=', projectId)
    .where('sequence', '=', sequence)
    .where('number', '=', String(number))
    .executeTakeFirst();
}

/** Newest first: by number within one sequence, by time across the project. */
export async function latestClaims(
  db: Executor,
  projectId: string,
  opts: { sequence?: string; limit: number },
): Promise<ClaimRow[]> {
  return latestClaimsQuery(db, projectId, opts).execute();
}

/** latestClaims as a query, for statements that embed it. */
export function latestClaimsQuery(
  db: Executor,
  projectId: string,
  opts: { sequence?: string; limit: number },
) {
  const q = db
    .selectFrom('claims')
    .select(['sequence', 'number', 'formatted', 'actor', 'at', 'note', 'ref'])
    .where('project_id', '=', projectId);
  return (
    opts.sequence
      ? q.where('sequence', '=', opts.sequence).orderBy('number', 'desc')
      : q.orderBy('at', 'desc').orderBy('number', 'desc')
  ).limit(opts.limit);
}

const SEQUENCE_COLUMNS = sql`name, prefix, pad, last_number,
  ${formatted(sql.ref('prefix'), sql.ref('pad'), sql`(last_number + 1)`)} as next_formatted`;

export async function findSequence(
  trx: Trx,
  projectId: string,
  name: string,
  opts: { lock: boolean },
): Promise<SequenceRow | undefined> {
  const { rows } = await sql<SequenceRow>`
    select ${SEQUENCE_COLUMNS} from sequences
    where project_id = ${projectId} and name = ${name}
    ${opts.lock ? sql`for update` : sql``}`.execute(trx);
  return rows[0];
}

/** Creates the sequence unless it exists; undefined when it already did. */
export async function insertSequence(
  trx: Trx,
  projectId: string,
  s: { name: string; prefix: string; pad: number; lastNumber: number },
): Promise<SequenceRow | undefined> {
  const { rows } = await sql<SequenceRow>`
    insert into sequences (project_id, name, prefix, pad, last_number)
    values (${projectId}, ${s.name}, ${s.prefix}, ${s.pad}, ${s.lastNumber})
    on conflict (project_id, name) do nothing
    returning ${SEQUENCE_COLUMNS}`.execute(trx);
  return rows[0];
}

/** Re-seeds a sequence whose row the caller has locked; null prefix or pad keeps the stored one. */
export async function updateSequence(
  trx: Trx,
  projectId: string,
  s: { name: string; prefix: string | null; pad: number | null; lastNumber: number },
): Promise<SequenceRow> {
  const { rows } = await sql<SequenceRow>`
    update sequences set last_number = ${s.lastNumber},
      prefix = coalesce(${s.prefix}, prefix), pad = coalesce(${s.pad}::integer, pad)
    where project_id = ${projectId} and name = ${s.name}
    returning ${SEQUENCE_COLUMNS}`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('sequence vanished under its lock');
  return row;
}

/** The highest number handed out (read under the sequence row's lock, so it cannot move). */
export async function lastClaim(
  trx: Trx,
  projectId: string,
  sequence: string,
): Promise<ClaimRow | undefined> {
  return trx
    .selectFrom('claims')
    .select(['sequence', 'number', 'formatted', 'actor', 'at', 'note', 'ref'])
    .where('project_id', '=', projectId)
    .where('sequence', '=', sequence)
    .orderBy('number', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export interface SequenceListRow extends SequenceRow {
  last_claim_number: string | null;
  last_claim_formatted: string | null;
  last_claim_by: string | null;
  last_claim_at: Date | null;
}

/** By name, after a name for paging; each with its last claim, read from the primary key. */
export async function listSequences(
  db: Executor,
  projectId: string,
  opts: { after?: string; limit: number },
): Promise<SequenceListRow[]> {
  const { rows } = await sql<SequenceListRow>`
    select ${SEQUENCE_COLUMNS}, c.number as last_claim_number,
           c.formatted as last_claim_formatted, c.actor as last_claim_by, c.at as last_claim_at
    from sequences s
    left join lateral (
      select number, formatted, actor, at from claims c
      where c.project_id = s.project_id and c.sequence = s.name
      order by number desc limit 1
    ) c on true
    where s.project_id = ${projectId} and (${opts.after ?? null}::text is null or s.name > ${opts.after ?? null})
    order by s.name
    limit ${opts.limit}`.execute(db);
  return rows;
}

export async function sequenceNames(
  db: Executor,
  projectId: string,
  limit: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom('sequences')
    .select('name')
    .where('project_id', '=', projectId)
    .orderBy('name')
    .limit(limit)
    .execute();
  return rows.map((r) => r.name);
}
