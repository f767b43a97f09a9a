import { sql } from 'kysely';
import type { Executor } from '../../src/db/pool.js';

// What a database distributed by project (Citus, distributing on project_id) asks of the schema:
// on a project-scoped table (one with a project_id column), every primary key, unique constraint
// or index and foreign key leads with project_id, so each is enforced within one node; and no
// table carries a trigger.

/**
 * The deliberate exceptions, by constraint name: each is global by nature, and docs/scaling.md
 * lists what it costs a distributed deployment. (Tables without project_id, such as owners,
 * participants and projects, are global themselves and not checked: they would be reference or
 * coordinator tables.)
 */
export const GLOBAL_EXCEPTIONS: Readonly<Record<string, string>> = {
  // A request presents a token and nothing else; its hash is what finds the project.
  tokens_token_hash_key: 'a token is looked up by its hash before its project is known',
  // Likewise an invite code redeemed at /join.
  invites_code_hash_key: 'an invite is looked up by its code before its project is known',
  // A participant (an owner's agent or human) lives above projects and takes part in several.
  participations_participant_id_fkey: 'a participation names a participant of the owner',
};

export interface Finding {
  table: string;
  name: string;
  problem: string;
}

interface Row {
  table: string;
  name: string;
  kind: 'p' | 'u' | 'f' | 'i' | 't';
  first: string | null;
}

const KIND = {
  p: 'primary key',
  u: 'unique constraint',
  f: 'foreign key',
  i: 'unique index',
} as const;

export async function distributionFindings(db: Executor): Promise<Finding[]> {
  const { rows } = await sql<Row>`
    with scoped as (
      select c.oid, c.relname from pg_class c
      join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = current_schema() and c.relkind in ('r', 'p')
        and exists (select 1 from pg_attribute a
                    where a.attrelid = c.oid and a.attname = 'project_id' and not a.attisdropped)
    )
    select s.relname as table, con.conname as name, con.contype as kind,
           (select a.attname from pg_attribute a
            where a.attrelid = s.oid and a.attnum = con.conkey[1]) as first
    from scoped s join pg_constraint con on con.conrelid = s.oid
    where con.contype in ('p', 'u', 'f')
    union all
    select s.relname, ic.relname, 'i',
           (select a.attname from pg_attribute a
            where a.attrelid = s.oid and a.attnum = i.indkey[0])
    from scoped s
    join pg_index i on i.indrelid = s.oid and i.indisunique
    join pg_class ic on ic.oid = i.indexrelid
    where not exists (select 1 from pg_constraint con where con.conindid = i.indexrelid)
    union all
    select s.relname, t.tgname, 't', null
    from scoped s join pg_trigger t on t.tgrelid = s.oid and not t.tgisinternal
    order by 1, 2`.execute(db);
  return rows.flatMap((r): Finding[] => {
    if (r.kind === 't') return [{ table: r.table, name: r.name, problem: 'trigger' }];
    if (r.first === 'project_id' || r.name in GLOBAL_EXCEPTIONS) return [];
    return [{ table: r.table, name: r.name, problem: `${KIND[r.kind]} not led by project_id` }];
  });
}
