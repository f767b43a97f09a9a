import { sql } from 'kysely';
import { transact, type Db } from '../src/db/pool.js';

// The search figure's corpus, put into the projects of the big ledger: posts, claims, tasks and
// lease notes written in a made-up vocabulary of 4,096 words whose frequencies fall off steeply
// (a few words are everywhere, most are rare), so common words, rare words, prefixes and phrases
// each cost what they would on real text.

export interface SearchCorpus {
  posts: number;
  claims: number;
  tasks: number;
  leaseNotes: number;
}

const BODIES = 20_000;

/** Word n of the vocabulary, as SQL: two or three syllables from its digits in base 16. */
const WORD = (
  n: string,
) => `(array['ba','co','de','fi','gu','ka','lo','me','ni','po','ra','su','ta','vi','xe','zo'])[${n} % 16 + 1]
  || (array['ba','co','de','fi','gu','ka','lo','me','ni','po','ra','su','ta','vi','xe','zo'])[(${n} / 16) % 16 + 1]
  || case when ${n} >= 256 then (array['n','r','s','t','l','m','k','d','p','x','b','g','v','z','f','h'])[(${n} / 256) % 16 + 1] else '' end`;

/** The vocabulary's word n in TypeScript, for choosing queries. */
function word(n: number): string {
  const syl = [
    'ba',
    'co',
    'de',
    'fi',
    'gu',
    'ka',
    'lo',
    'me',
    'ni',
    'po',
    'ra',
    'su',
    'ta',
    'vi',
    'xe',
    'zo',
  ];
  const tail = ['n', 'r', 's', 't', 'l', 'm', 'k', 'd', 'p', 'x', 'b', 'g', 'v', 'z', 'f', 'h'];
  return `${syl[n % 16]}${syl[Math.floor(n / 16) % 16]}${n >= 256 ? tail[Math.floor(n / 256) % 16] : ''}`;
}

/**
 * Fills `perProject` posts and claims, and a tenth as many tasks and lease notes, into each
 * project. Texts come from a table of 20,000 bodies made once (making a body per row costs more
 * than the row). The GIN indexes take the rows through their pending lists, made large for the
 * load, and the vacuum afterwards merges what is left, as autovacuum would.
 */
export async function fillSearchCorpus(
  db: Db,
  projects: string[],
  perProject: number,
  progress: (text: string) => void,
): Promise<SearchCorpus> {
  // Loading statements run longer than the pool's statement timeout allows.
  const unbounded = sql`set local statement_timeout = 0`;
  await transact(db, async (trx) => {
    await unbounded.execute(trx);
    await sql`select setseed(0.42)`.execute(trx);
    await sql`create table bench_bodies as
      select i, string_agg(${sql.raw(WORD('w.n'))}, ' ' order by k) as body
      from generate_series(1, ${BODIES}) i
      cross join lateral generate_series(1, 12 + i % 24) k
      cross join lateral (select floor(4096 * power(random(), 3))::int + 0 * k as n) w
      group by i`.execute(trx);
  });
  const few = Math.max(1, Math.floor(perProject / 10));
  const chunk = 50;
  for (let i = 0; i < projects.length; i += chunk) {
    const slice = projects.slice(i, i + chunk);
    await transact(db, async (trx) => {
      await unbounded.execute(trx);
      await sql`set local gin_pending_list_limit = '64MB'`.execute(trx);
      await sql`insert into posts (project_id, sender_participation_id, sender_actor, broadcast,
                                   subject, body, ref, created_at)
        select p, 1, 'bench/writer-' || (g % 7), true,
               case when g % 4 = 0 then split_part(b.body, ' ', 3) || ' ' || split_part(b.body, ' ', 4) end,
               b.body, case when g % 10 = 0 then 'PR-' || g end,
               now() - make_interval(secs => ${perProject} - g)
        from unnest(${slice}::bigint[]) p
        cross join generate_series(1, ${perProject}) g
        join bench_bodies b on b.i = 1 + (p * 7919 + g * 104729) % ${BODIES}`.execute(trx);
      await sql`insert into sequences (project_id, name, prefix, pad, last_number)
        select p, 'adr', 'ADR-', 4, ${perProject} from unnest(${slice}::bigint[]) p
        on conflict do nothing`.execute(trx);
      await sql`insert into claims (project_id, sequence, number, formatted, participation_id,
                                    actor, note, ref, at)
        select p, 'adr', g, 'ADR-' || lpad(g::text, 4, '0'), 1, 'bench/writer-' || (g % 7),
               left(b.body, 60), case when g % 2 = 0 then 'PR-' || g else md5(p || ':' || g) end,
               now() - make_interval(secs => ${perProject} - g)
        from unnest(${slice}::bigint[]) p
        cross join generate_series(1, ${perProject}) g
        join bench_bodies b on b.i = 1 + (p * 104729 + g * 7919) % ${BODIES}`.execute(trx);
      await sql`insert into tasks (project_id, title, detail, created_by, created_at)
        select p, left(b.body, 80), b.body, 'bench/writer-' || (g % 7),
               now() - make_interval(secs => ${few} - g)
        from unnest(${slice}::bigint[]) p
        cross join generate_series(1, ${few}) g
        join bench_bodies b on b.i = 1 + (p * 31 + g * 7919) % ${BODIES}`.execute(trx);
      // Lease grants with notes, appended after each project's events.
      await sql`insert into events (project_id, seq, type, actor, at, lease_id, data)
        select p, h.last_seq + g, 'lease', 'bench/writer-' || (g % 7), now(), g,
               jsonb_build_object('surface', 'src/' || split_part(b.body, ' ', 1) || '.ts',
                                  'mode', 'exclusive', 'note', left(b.body, 120), 'renewed', false)
        from unnest(${slice}::bigint[]) p
        join ledger_heads h on h.project_id = p
        cross join generate_series(1, ${few}) g
        join bench_bodies b on b.i = 1 + (p * 7 + g * 31) % ${BODIES}`.execute(trx);
      await sql`update ledger_heads set last_seq = last_seq + ${few}
        where project_id = any(${slice}::bigint[])`.execute(trx);
    });
    if ((i / chunk) % 4 === 0)
      progress(
        `  search corpus: ${Math.min(i + chunk, projects.length)} of ${projects.length} projects`,
      );
  }
  progress('vacuum after the corpus load (merges the GIN pending lists)');
  // VACUUM cannot run in a transaction, so the timeout is lifted on one connection, then reset.
  await db.connection().execute(async (conn) => {
    await sql`set statement_timeout = 0`.execute(conn);
    for (const table of ['posts', 'claims', 'tasks', 'events'])
      await sql`vacuum (analyze) ${sql.table(table)}`.execute(conn);
    await sql`reset statement_timeout`.execute(conn);
  });
  await sql`drop table bench_bodies`.execute(db);
  return {
    posts: perProject * projects.length,
    claims: perProject * projects.length,
    tasks: few * projects.length,
    leaseNotes: few * projects.length,
  };
}

/**
 * What the readers search for, in turn: a common, a middling and a rare word, two words, a
 * prefix of a common word, a phrase that occurs in the texts, and a claim's ref.
 */
export async function searchQueries(db: Db): Promise<string[]> {
  const { rows } = await sql<{ phrase: string }>`
    select split_part(body, ' ', 1) || ' ' || split_part(body, ' ', 2) as phrase
    from posts order by id limit 1`.execute(db);
  const phrase = rows[0]?.phrase ?? `${word(0)} ${word(1)}`;
  return [
    word(1),
    word(40),
    word(3000),
    `${word(2)} ${word(9)}`,
    `${word(0).slice(0, 3)}*`,
    `"${phrase}"`,
    'PR-2',
  ];
}
