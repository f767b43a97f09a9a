import { sql } from 'kysely';
import type { Trx } from './pool.js';
import { statement } from './statement.js';

// Full-text search over a project's posts, tasks, claims and lease notes. The functions that
// make documents, scope them to a project and make queries live in the schema
// (migrations/0011_search.sql); this is the one statement that reads them. src/tools/search.ts
// turns what the user typed into terms.

export const SEARCH_KINDS = ['post', 'task', 'claim', 'lease'] as const;
export type SearchKind = (typeof SEARCH_KINDS)[number];

export interface SearchTerms {
  /** Each matches as its English stem, as written, or as a whole ref. */
  words: string[];
  /** Typed `migra*`, given without the star. */
  prefixes: string[];
  /** Typed in double quotes. */
  phrases: string[];
}

/** Where the previous page ended: its last hit's sort key. */
export interface SearchAfter {
  score: string;
  kind: SearchKind;
  keyText: string;
  keyNum: string;
}

export interface SearchParams extends SearchTerms {
  kind?: SearchKind;
  actor?: string;
  since?: Date;
  after?: SearchAfter;
  limit: number;
}

export interface SearchRow {
  kind: SearchKind;
  /** The rank as an integer (ts_rank × 10⁶), so a page cursor holds it exactly. */
  score: string;
  /** A claim's sequence; empty for the other kinds. */
  key_text: string;
  /** post_id, task_id, a claim's number, or a lease event's seq. */
  key_num: string;
  at: Date;
  actor: string;
  /** A post's subject, a task's title, a claim's formatted number, a lease's surface. */
  title: string | null;
  ref: string | null;
  /** A task's status. */
  status: string | null;
  /** A lease's id. */
  lease_id: string | null;
  /** The matched text around the first matches, each match between « and ». */
  snippet: string;
}

// Hits sort by score, then kind, then key, all descending: a total order, so the page cursor
// (the last hit's key) neither repeats nor skips a hit, however many share a score.
const KIND_ORDER: Record<SearchKind, number> = { post: 4, task: 3, claim: 2, lease: 1 };

// From the first match on, 10 to 24 words; ts_headline leaves out what its parser reads as markup
// tags. (Fragments, its other mode, cut short texts down to a word or two.)
const HEADLINE = 'MaxWords=24, MinWords=10, ShortWord=2, StartSel=«, StopSel=»';

interface Params extends Record<string, unknown> {
  projectId: string;
  /** tsquery text: the query for the scoped index, and the one for the document */
  scoped: string | null;
  query: string | null;
  kind: string | null;
  actor: string | null;
  since: Date | null;
  afterScore: string | null;
  afterKind: number | null;
  afterText: string | null;
  afterNum: string | null;
  limit: number;
}

type Sql = ReturnType<typeof sql>;

const SEARCH = statement<Params, SearchRow>((p) => {
  // Candidates from the project's entries in the scoped index; the document decides (a phrase's
  // words in a row) and ranks. See migrations/0011_search.sql.
  const scoped = sql`${p.scoped}::tsquery`;
  const q = sql`${p.query}::tsquery`;
  // The first operand is the indexed expression, written as the index has it.
  const match = (project: Sql, doc: Sql) =>
    sql`search_scope(${project}, ${doc}) @@ ${scoped} and ${doc} @@ ${q}`;
  const score = (doc: Sql) => sql`(ts_rank(${doc}, ${q}, 1) * 1000000)::bigint`;
  const wanted = (kind: SearchKind) => sql`(${p.kind}::text is null or ${p.kind}::text = ${kind})`;
  const filters = (actor: Sql, at: Sql) =>
    sql`(${p.actor}::text is null or ${actor} = ${p.actor}::text)
      and (${p.since}::timestamptz is null or ${at} >= ${p.since}::timestamptz)`;
  const noteDoc = sql`search_document(NULL, e.data->>'note', NULL, NULL)`;
  return sql<SearchRow>`
    with hits as (
      select ${sql.lit(KIND_ORDER.post)} as kord, 'post' as kind, '' as key_text, p.id as key_num,
             ${score(sql`p.search`)} as score, p.created_at as at, p.sender_actor as actor,
             p.subject as title, p.ref, null::text as status, null::bigint as lease_id,
             concat_ws(E'\n', p.subject, p.body) as text
      from posts p
      where ${wanted('post')} and p.project_id = ${p.projectId} and ${match(sql`p.project_id`, sql`p.search`)}
        and ${filters(sql`p.sender_actor`, sql`p.created_at`)}
      union all
      select ${sql.lit(KIND_ORDER.task)}, 'task', '', t.id, ${score(sql`t.search`)}, t.created_at,
             t.created_by, t.title, t.ref, t.status, null, concat_ws(E'\n', t.title, t.detail)
      from tasks t
      where ${wanted('task')} and t.project_id = ${p.projectId} and ${match(sql`t.project_id`, sql`t.search`)}
        and ${filters(sql`t.created_by`, sql`t.created_at`)}
      union all
      select ${sql.lit(KIND_ORDER.claim)}, 'claim', c.sequence, c.number, ${score(sql`c.search`)}, c.at,
             c.actor, c.formatted, c.ref, null, null, concat_ws(' · ', c.note, c.ref)
      from claims c
      where ${wanted('claim')} and c.project_id = ${p.projectId} and ${match(sql`c.project_id`, sql`c.search`)}
        and ${filters(sql`c.actor`, sql`c.at`)}
      union all
      -- A lease's note is in its grant event, and again in a renewal that changed its mode:
      -- one hit per lease and note, the first event that carried it.
      select ${sql.lit(KIND_ORDER.lease)}, 'lease', '', e.seq,
             ${score(sql`search_document(NULL, e.note, NULL, NULL)`)}, e.at,
             e.actor, e.surface, null, null, e.lease_id, e.note
      from (
        select distinct on (e.lease_id, e.data->>'note')
               e.project_id, e.seq, e.at, e.actor, e.lease_id, e.data->>'note' as note,
               e.data->>'surface' as surface
        from events e
        where ${wanted('lease')} and e.project_id = ${p.projectId}
          and e.type = 'lease' and e.data->>'note' is not null and ${match(sql`e.project_id`, noteDoc)}
        order by e.lease_id, e.data->>'note', e.seq
      ) e
      where ${filters(sql`e.actor`, sql`e.at`)}
    ), page as (
      select * from hits
      where ${p.afterScore}::bigint is null
         or (score, kord, key_text, key_num)
            < (${p.afterScore}::bigint, ${p.afterKind}::int, ${p.afterText}::text, ${p.afterNum}::bigint)
      order by score desc, kord desc, key_text desc, key_num desc
      limit ${p.limit}
    )
    select kind, score, key_text, key_num, at, actor, title, ref, status, lease_id,
           ts_headline('simple', text, ${q}, ${HEADLINE}) as snippet
    from page
    order by score desc, kord desc, key_text desc, key_num desc`;
});

/**
 * One page of hits, best first, in the caller's transaction. A first round trip makes the two
 * queries from the terms (once, rather than wherever the statement uses them) and has the
 * statement planned for its own query (plan_cache_mode): a generic plan, blind to the words,
 * would walk the project's rows instead of the index, the project being the likelier guess.
 */
export async function searchProject(
  trx: Trx,
  projectId: string,
  s: SearchParams,
): Promise<SearchRow[]> {
  const terms = sql`${s.words}::text[], ${s.prefixes}::text[], ${s.phrases}::text[]`;
  const { rows } = await sql<{ scoped: string | null; query: string | null }>`
    select set_config('plan_cache_mode', 'force_custom_plan', true),
           search_query(${projectId}::bigint, ${terms})::text as scoped,
           search_query(NULL, ${terms})::text as query`.execute(trx);
  const made = rows[0];
  if (!made?.scoped || !made.query) return [];
  return SEARCH.run(trx, {
    projectId,
    scoped: made.scoped,
    query: made.query,
    kind: s.kind ?? null,
    actor: s.actor ?? null,
    since: s.since ?? null,
    afterScore: s.after?.score ?? null,
    afterKind: s.after ? KIND_ORDER[s.after.kind] : null,
    afterText: s.after?.keyText ?? null,
    afterNum: s.after?.keyNum ?? null,
    limit: s.limit,
  });
}
