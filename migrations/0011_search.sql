-- Why: search (spec §7). Agents and the people driving them look for what the project already
-- knows: posts (subject, body), tasks (title, detail), claims (note, ref) and lease notes, by a
-- word, a prefix or a quoted phrase, ranked. PostgreSQL full-text search with GIN indexes.
--
-- search_document is the text of one item as a tsvector:
-- * The text twice: with English stemming, so `claims` finds `claim`, and as written ('simple'),
--   so a prefix matches the word it was typed from (a stem is often not a prefix of the word),
--   stop words can be searched for, and words of other languages are left alone.
-- * Refs (a post's or a task's ref, a claim's ref and formatted number) as tokens, and also
--   whole and split at punctuation: the parser reads `PR-123` as `pr` and the number `-123`, so
--   without these neither `PR-123` as typed nor `123` would find it.
--
-- The GIN indexes hold search_scope of that document: every lexeme prefixed with the project
-- ('P42:claim'). A GIN index cannot lead with project_id (that takes btree_gin, an extension),
-- and without the prefix a common word, or a prefix such as `mig*`, would gather its rows from
-- every project before the project filter dropped them; with it, each lookup reads only the
-- project's own entries, however large the installation. The scoped lexemes carry no positions,
-- so a phrase is checked, and hits ranked, on the document itself (src/db/search.ts).
--
-- Posts, tasks and claims keep the document in a stored generated column. Lease rows are live
-- state that a release deletes, so lease notes are searched in the ledger: an expression index
-- over the `lease` events that carry a note (grants; a renewal appends one only when the mode
-- changes), partial, so no other event pays for it.
--
-- Applying this rewrites posts, tasks and claims (a stored column is added) and reads the ledger
-- once for the lease index: on a large installation it takes a while, in one transaction.
--
-- Both functions are part of stored columns and indexes: changing one means a new function and
-- the columns and indexes rebuilt with it, never CREATE OR REPLACE. Neither calls a function of
-- ours, so both run under any search_path (a restore runs with an empty one).

CREATE FUNCTION search_document(head text, body text, ref text, alias text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT setweight(to_tsvector('english'::regconfig, coalesce(head, '')), 'A')
      || setweight(to_tsvector('english'::regconfig, coalesce(body, '')), 'B')
      || setweight(to_tsvector('simple'::regconfig, coalesce(head, '')), 'A')
      || setweight(to_tsvector('simple'::regconfig, coalesce(body, '')), 'B')
      || setweight(to_tsvector('simple'::regconfig, concat_ws(' ', ref, alias)), 'A')
      || array_to_tsvector(array_remove(array_remove(
           ARRAY[lower(ref), lower(alias)]
             || regexp_split_to_array(lower(concat_ws(' ', ref, alias)), '[^[:alnum:]]+'),
           NULL), ''))
$$;

-- Lexemes longer than 2,000 bytes (a base64 blob in a body) are left out: with the prefix they
-- would pass tsvector's 2,047-byte limit, and no one searches for them.
CREATE FUNCTION search_scope(project bigint, doc tsvector)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT array_to_tsvector(ARRAY(
    SELECT 'P' || project || ':' || l FROM unnest(tsvector_to_array(doc)) AS l
    WHERE octet_length(l) <= 2000))
$$;

ALTER TABLE posts ADD COLUMN search tsvector
  GENERATED ALWAYS AS (search_document(subject, body, ref, NULL)) STORED;
ALTER TABLE tasks ADD COLUMN search tsvector
  GENERATED ALWAYS AS (search_document(title, detail, ref, NULL)) STORED;
ALTER TABLE claims ADD COLUMN search tsvector
  GENERATED ALWAYS AS (search_document(NULL, note, ref, formatted)) STORED;

CREATE INDEX posts_search_idx ON posts USING gin (search_scope(project_id, search));
CREATE INDEX tasks_search_idx ON tasks USING gin (search_scope(project_id, search));
CREATE INDEX claims_search_idx ON claims USING gin (search_scope(project_id, search));
CREATE INDEX events_lease_note_search_idx ON events
  USING gin (search_scope(project_id, search_document(NULL, data->>'note', NULL, NULL)))
  WHERE type = 'lease' AND data->>'note' IS NOT NULL;

-- A search's query from its terms (src/tools/search.ts splits what the user typed into them);
-- every term must match. A word matches its English stem, itself as written, or a whole ref; a
-- prefix (typed `migra*`) matches words and refs that start with it; a phrase matches its words
-- in a row.
--
-- With a project: the query for the scoped index (lexemes prefixed as search_scope prefixes
-- them; a phrase as its words in any order). Without: the query for the document itself, where
-- a phrase's words must stand in a row. The first finds candidates, the second decides.
--
-- Lexemes come from to_tsvector and phraseto_tsquery, which take any text, and are quoted for
-- tsquery's input by search_lexeme: inside quotes only a quote and a backslash are special, and
-- both are doubled. So no text a user types can make a tsquery syntax error. NULL when a term
-- yields no lexeme, so a search never degenerates into "everything".
CREATE FUNCTION search_lexeme(lexeme text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''''
$$;

CREATE FUNCTION search_query(project bigint, words text[], prefixes text[], phrases text[])
RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
-- phraseto_tsquery tells the client about the stop words it drops; nobody reads that.
SET client_min_messages = warning
AS $$
DECLARE
  scope text := CASE WHEN project IS NULL THEN '' ELSE 'P' || project || ':' END;
  terms text[] := '{}';
  term text;
  t text;
  i int;
BEGIN
  words := coalesce(words, '{}');
  prefixes := coalesce(prefixes, '{}');
  phrases := coalesce(phrases, '{}');
  FOR i IN 1 .. cardinality(words) + cardinality(phrases) LOOP
    t := CASE WHEN i <= cardinality(words) THEN words[i] ELSE phrases[i - cardinality(words)] END;
    -- Every lexeme of the text, in English or as written; a word may also be a whole ref.
    SELECT string_agg(DISTINCT alt, ' | ') INTO term FROM (
      SELECT CASE WHEN count(*) > 1
                  THEN '(' || string_agg(search_lexeme(scope || l), ' & ') || ')'
                  ELSE min(search_lexeme(scope || l)) END AS alt
      FROM unnest('{english,simple}'::regconfig[]) AS c,
           unnest(tsvector_to_array(to_tsvector(c, t))) AS l
      GROUP BY c
      UNION ALL
      SELECT search_lexeme(scope || lower(t)) WHERE i <= cardinality(words)
    ) a;
    IF i > cardinality(words) AND project IS NULL THEN
      -- A phrase, on the document itself: its words in a row.
      term := nullif((phraseto_tsquery('english'::regconfig, t)
                      || phraseto_tsquery('simple'::regconfig, t))::text, '');
    END IF;
    IF term IS NULL THEN
      RETURN NULL;
    END IF;
    terms := terms || ('(' || term || ')');
  END LOOP;
  FOREACH t IN ARRAY prefixes LOOP
    -- Each lexeme of the text as a prefix, or the whole text as the start of a ref.
    SELECT string_agg(DISTINCT alt, ' | ') INTO term FROM (
      SELECT CASE WHEN count(*) > 1
                  THEN '(' || string_agg(search_lexeme(scope || l) || ':*', ' & ') || ')'
                  ELSE min(search_lexeme(scope || l) || ':*') END AS alt
      FROM unnest(tsvector_to_array(to_tsvector('simple'::regconfig, t))) AS l
      HAVING count(*) > 0
      UNION ALL
      SELECT search_lexeme(scope || lower(t)) || ':*'
    ) a;
    terms := terms || ('(' || term || ')');
  END LOOP;
  IF cardinality(terms) = 0 THEN
    RETURN NULL;
  END IF;
  RETURN array_to_string(terms, ' & ')::tsquery;
END
$$;
