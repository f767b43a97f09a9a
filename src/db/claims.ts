import { sql, type RawBuilder } from 'kysely';
import type { Executor, Trx } from './pool.js';

// Sequences and claims. See migrations/0003_claims_leases.sql for why a number comes from a
// locked row rather than a SEQUENCE. Lock order within a transaction: the sequence row, then the
// ledger head (appendEvent, last).

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

/**
 * Takes the next number in one statement: creates the sequence at 1 or bumps last_number under
 * the row's lock, and records the claim. Concurrent claims on one sequence queue on that row
 * until this transaction ends; if it rolls back, the bump rolls back with it.
 */
export async function claimNext(
  trx: Trx,
  projectId: string,
  c: {
    sequence: string;
    participationId: string;
    actor: string;
    note: string | null;
    ref: string | null;
    idempotencyKey: string | null;
  },
): Promise<ClaimRow> {
  const { rows } = await sql<ClaimRow>`
    with seq as (
      insert into sequences as s (project_id, name, last_number) values (${projectId}, ${c.sequence}, 1)
      on conflict (project_id, name) do update set last_number = s.last_number + 1
      returning s.name, s.last_number,
        ${formatted(sql.ref('s.prefix'), sql.ref('s.pad'), sql.ref('s.last_number'))} as formatted
    )
    insert into claims (project_id, sequence, number, formatted, participation_id, actor, note,
                        ref, idempotency_key)
    select ${projectId}, seq.name, seq.last_number, seq.formatted, ${c.participationId},
           ${c.actor}, ${c.note}, ${c.ref}, ${c.idempotencyKey}
    from seq
    returning sequence, number, formatted, actor, at, note, ref`.execute(trx);
  const row = rows[0];
  if (!row) throw new Error('claim returned no row');
  return row;
}

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
  let q = db
    .selectFrom('claims')
    .select(['sequence', 'number', 'formatted', 'actor', 'at', 'note', 'ref'])
    .where('project_id', '=', projectId);
  q = opts.sequence
    ? q.where('sequence', '=', opts.sequence).orderBy('number', 'desc')
    : q.orderBy('at', 'desc').orderBy('number', 'desc');
  return q.limit(opts.limit).execute();
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
