--
-- PostgreSQL database dump
--

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

--
-- Name: search_document(text, text, text, text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_document(head text, body text, ref text, alias text) RETURNS tsvector
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

--
-- Name: search_lexeme(text); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_lexeme(lexeme text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT '''' || replace(replace(lexeme, '\', '\\'), '''', '''''') || ''''
$$;

--
-- Name: search_query(bigint, text[], text[], text[]); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_query(project bigint, words text[], prefixes text[], phrases text[]) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET client_min_messages TO 'warning'
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

--
-- Name: search_scope(bigint, tsvector); Type: FUNCTION; Schema: public; Owner: -
--

CREATE FUNCTION public.search_scope(project bigint, doc tsvector) RETURNS tsvector
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
  SELECT array_to_tsvector(ARRAY(
    SELECT 'P' || project || ':' || l FROM unnest(tsvector_to_array(doc)) AS l
    WHERE octet_length(l) <= 2000))
$$;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: admin_links; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.admin_links (
    id bigint NOT NULL,
    key_hash bytea NOT NULL,
    owner_id bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    used_at timestamp with time zone,
    CONSTRAINT admin_links_key_hash_check CHECK ((length(key_hash) = 32))
);

--
-- Name: admin_links_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.admin_links ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.admin_links_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: admin_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.admin_sessions (
    id bigint NOT NULL,
    key_hash bytea NOT NULL,
    owner_id bigint NOT NULL,
    via text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    CONSTRAINT admin_sessions_key_hash_check CHECK ((length(key_hash) = 32)),
    CONSTRAINT admin_sessions_via_check CHECK ((via = ANY (ARRAY['link'::text, 'oidc'::text])))
);

--
-- Name: admin_sessions_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.admin_sessions ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.admin_sessions_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: claims; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.claims (
    project_id bigint NOT NULL,
    sequence text NOT NULL,
    number bigint NOT NULL,
    formatted text NOT NULL,
    participation_id bigint NOT NULL,
    actor text NOT NULL,
    note text,
    ref text,
    idempotency_key text,
    at timestamp with time zone DEFAULT now() NOT NULL,
    search tsvector GENERATED ALWAYS AS (public.search_document(NULL::text, note, ref, formatted)) STORED,
    CONSTRAINT claims_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 100))),
    CONSTRAINT claims_formatted_check CHECK ((length(formatted) <= 64)),
    CONSTRAINT claims_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 128))),
    CONSTRAINT claims_note_check CHECK ((length(note) <= 500)),
    CONSTRAINT claims_number_check CHECK ((number > 0)),
    CONSTRAINT claims_ref_check CHECK ((length(ref) <= 500))
);

--
-- Name: cursors; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.cursors (
    project_id bigint NOT NULL,
    participation_id bigint NOT NULL,
    name text NOT NULL,
    last_seq bigint DEFAULT 0 NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT cursors_last_seq_check CHECK ((last_seq >= 0)),
    CONSTRAINT cursors_name_check CHECK ((name ~ '^[A-Za-z0-9._:-]{1,64}$'::text))
);

--
-- Name: events; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.events (
    project_id bigint NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    actor text NOT NULL,
    participation_id bigint,
    at timestamp with time zone DEFAULT clock_timestamp() NOT NULL,
    task_id bigint,
    post_id bigint,
    lease_id bigint,
    sequence text,
    ref text,
    tag text,
    data jsonb DEFAULT '{}'::jsonb NOT NULL,
    CONSTRAINT events_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 100))),
    CONSTRAINT events_data_check CHECK ((jsonb_typeof(data) = 'object'::text)),
    CONSTRAINT events_ref_check CHECK ((length(ref) <= 500)),
    CONSTRAINT events_seq_check CHECK ((seq > 0)),
    CONSTRAINT events_sequence_check CHECK ((length(sequence) <= 64)),
    CONSTRAINT events_tag_check CHECK ((length(tag) <= 64)),
    CONSTRAINT events_type_check CHECK ((type ~ '^[a-z][a-z0-9_]{0,63}$'::text))
);

--
-- Name: invites; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.invites (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    code_hash bytea NOT NULL,
    created_by text NOT NULL,
    label text,
    kind text DEFAULT 'agent'::text NOT NULL,
    lane text,
    is_admin boolean DEFAULT false NOT NULL,
    uses_total integer NOT NULL,
    uses_left integer NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    revoked_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT invites_check CHECK (((uses_left >= 0) AND (uses_left <= uses_total))),
    CONSTRAINT invites_code_hash_check CHECK ((length(code_hash) = 32)),
    CONSTRAINT invites_kind_check CHECK ((kind = ANY (ARRAY['agent'::text, 'human'::text]))),
    CONSTRAINT invites_label_check CHECK ((((length(label) >= 1) AND (length(label) <= 64)) AND (strpos(label, '/'::text) = 0))),
    CONSTRAINT invites_lane_check CHECK ((lane ~ '^[a-z0-9._-]{1,64}$'::text)),
    CONSTRAINT invites_uses_total_check CHECK (((uses_total >= 1) AND (uses_total <= 1000)))
);

--
-- Name: invites_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.invites ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.invites_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: kysely_migration; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.kysely_migration (
    name character varying(255) NOT NULL,
    "timestamp" character varying(255) NOT NULL
);

--
-- Name: kysely_migration_lock; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.kysely_migration_lock (
    id character varying(255) NOT NULL,
    is_locked integer DEFAULT 0 NOT NULL
);

--
-- Name: lanes; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.lanes (
    project_id bigint NOT NULL,
    name text NOT NULL,
    first_used_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT lanes_name_check CHECK ((name ~ '^[a-z0-9._-]{1,64}$'::text))
);

--
-- Name: lease_fencing; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.lease_fencing (
    project_id bigint NOT NULL,
    last_token bigint NOT NULL,
    CONSTRAINT lease_fencing_last_token_check CHECK ((last_token > 0))
);

--
-- Name: leases; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.leases (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    participation_id bigint NOT NULL,
    actor text NOT NULL,
    surface text NOT NULL,
    mode text NOT NULL,
    fencing_token bigint NOT NULL,
    note text,
    granted_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone NOT NULL,
    ttl_seconds integer DEFAULT 900 NOT NULL,
    CONSTRAINT leases_actor_check CHECK (((length(actor) >= 1) AND (length(actor) <= 100))),
    CONSTRAINT leases_fencing_token_check CHECK ((fencing_token > 0)),
    CONSTRAINT leases_mode_check CHECK ((mode = ANY (ARRAY['exclusive'::text, 'shared'::text]))),
    CONSTRAINT leases_note_check CHECK ((length(note) <= 500)),
    CONSTRAINT leases_surface_check CHECK (((length(surface) >= 1) AND (length(surface) <= 512))),
    CONSTRAINT leases_ttl_seconds_check CHECK ((ttl_seconds > 0))
);

--
-- Name: leases_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.leases ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.leases_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: ledger_heads; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.ledger_heads (
    project_id bigint NOT NULL,
    last_seq bigint NOT NULL,
    CONSTRAINT ledger_heads_last_seq_check CHECK ((last_seq >= 0))
);

--
-- Name: mcp_sessions; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.mcp_sessions (
    project_id bigint NOT NULL,
    id text NOT NULL,
    participation_id bigint NOT NULL,
    protocol_version text NOT NULL,
    client_name text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_seen_at timestamp with time zone DEFAULT now() NOT NULL,
    closed_at timestamp with time zone,
    CONSTRAINT mcp_sessions_client_name_check CHECK ((length(client_name) <= 200)),
    CONSTRAINT mcp_sessions_id_check CHECK ((id ~ '^[A-Za-z0-9_-]{16,64}$'::text)),
    CONSTRAINT mcp_sessions_protocol_version_check CHECK ((length(protocol_version) <= 32))
);

--
-- Name: oidc_identities; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.oidc_identities (
    issuer text NOT NULL,
    subject text NOT NULL,
    owner_id bigint NOT NULL,
    email text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    last_sign_in_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT oidc_identities_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254))),
    CONSTRAINT oidc_identities_issuer_check CHECK (((length(issuer) >= 1) AND (length(issuer) <= 500))),
    CONSTRAINT oidc_identities_subject_check CHECK (((length(subject) >= 1) AND (length(subject) <= 255)))
);

--
-- Name: owners; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.owners (
    id bigint NOT NULL,
    email text NOT NULL,
    handle text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT owners_email_check CHECK (((length(email) >= 3) AND (length(email) <= 254))),
    CONSTRAINT owners_handle_check CHECK ((handle ~ '^[a-z0-9-]{2,32}$'::text))
);

--
-- Name: owners_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.owners ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.owners_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: participants; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.participants (
    id bigint NOT NULL,
    owner_id bigint NOT NULL,
    label text NOT NULL,
    kind text DEFAULT 'agent'::text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    owner_self boolean DEFAULT false NOT NULL,
    CONSTRAINT participants_kind_check CHECK ((kind = ANY (ARRAY['agent'::text, 'human'::text]))),
    CONSTRAINT participants_label_check CHECK ((((length(label) >= 1) AND (length(label) <= 64)) AND (strpos(label, '/'::text) = 0))),
    CONSTRAINT participants_owner_self_human CHECK (((NOT owner_self) OR (kind = 'human'::text)))
);

--
-- Name: participants_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.participants ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.participants_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: participations; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.participations (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    participant_id bigint NOT NULL,
    lane text,
    status text,
    is_admin boolean DEFAULT false NOT NULL,
    last_seen_at timestamp with time zone,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    signing_jwk jsonb,
    signing_kid text,
    CONSTRAINT participations_lane_check CHECK ((lane ~ '^[a-z0-9._-]{1,64}$'::text)),
    CONSTRAINT participations_signing_jwk_check CHECK (((signing_jwk IS NULL) OR (jsonb_typeof(signing_jwk) = 'object'::text))),
    CONSTRAINT participations_signing_kid_check CHECK ((length(signing_kid) <= 100)),
    CONSTRAINT participations_status_check CHECK ((length(status) <= 200))
);

--
-- Name: participations_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.participations ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.participations_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: post_recipients; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.post_recipients (
    project_id bigint NOT NULL,
    post_id bigint NOT NULL,
    participation_id bigint NOT NULL,
    delivered_at timestamp with time zone,
    acked_at timestamp with time zone,
    CONSTRAINT post_recipients_check CHECK (((acked_at IS NULL) OR (delivered_at IS NOT NULL)))
);

--
-- Name: posts; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.posts (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    sender_participation_id bigint NOT NULL,
    sender_actor text NOT NULL,
    to_participation_id bigint,
    to_actor text,
    to_lane text,
    broadcast boolean DEFAULT false NOT NULL,
    subject text,
    body text NOT NULL,
    ref text,
    tag text,
    reply_to bigint,
    thread_id bigint,
    idempotency_key text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    signature text,
    signing_kid text,
    search tsvector GENERATED ALWAYS AS (public.search_document(subject, body, ref, NULL::text)) STORED,
    action text,
    data jsonb,
    CONSTRAINT posts_action_check CHECK (((length(action) >= 1) AND (length(action) <= 32))),
    CONSTRAINT posts_body_check CHECK (((length(body) >= 1) AND (length(body) <= 16000))),
    CONSTRAINT posts_check CHECK (((num_nonnulls(to_participation_id, to_lane) + (broadcast)::integer) = 1)),
    CONSTRAINT posts_check1 CHECK (((to_participation_id IS NULL) = (to_actor IS NULL))),
    CONSTRAINT posts_check2 CHECK (((reply_to IS NULL) = (thread_id IS NULL))),
    CONSTRAINT posts_data_check CHECK (((jsonb_typeof(data) = 'object'::text) AND (octet_length((data)::text) <= 16384))),
    CONSTRAINT posts_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 128))),
    CONSTRAINT posts_ref_check CHECK ((length(ref) <= 500)),
    CONSTRAINT posts_sender_actor_check CHECK (((length(sender_actor) >= 1) AND (length(sender_actor) <= 100))),
    CONSTRAINT posts_signature_check CHECK ((length(signature) <= 8192)),
    CONSTRAINT posts_signature_kid CHECK (((signature IS NULL) = (signing_kid IS NULL))),
    CONSTRAINT posts_signing_kid_check CHECK ((length(signing_kid) <= 100)),
    CONSTRAINT posts_subject_check CHECK ((length(subject) <= 200)),
    CONSTRAINT posts_tag_check CHECK ((length(tag) <= 64)),
    CONSTRAINT posts_to_actor_check CHECK ((length(to_actor) <= 100)),
    CONSTRAINT posts_to_lane_check CHECK ((to_lane ~ '^[a-z0-9._-]{1,64}$'::text))
);

--
-- Name: posts_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.posts ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.posts_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: projects; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.projects (
    id bigint NOT NULL,
    owner_id bigint NOT NULL,
    slug text NOT NULL,
    name text NOT NULL,
    liveness_window_seconds integer DEFAULT 900 NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT projects_liveness_window_seconds_check CHECK (((liveness_window_seconds >= 10) AND (liveness_window_seconds <= 604800))),
    CONSTRAINT projects_name_check CHECK (((length(name) >= 1) AND (length(name) <= 200))),
    CONSTRAINT projects_slug_check CHECK ((slug ~ '^[a-z0-9-]{1,64}$'::text))
);

--
-- Name: projects_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.projects ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.projects_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: sequences; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.sequences (
    project_id bigint NOT NULL,
    name text NOT NULL,
    prefix text DEFAULT ''::text NOT NULL,
    pad integer DEFAULT 0 NOT NULL,
    last_number bigint NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT sequences_last_number_check CHECK ((last_number >= 0)),
    CONSTRAINT sequences_name_check CHECK ((name ~ '^[a-z0-9._-]{1,64}$'::text)),
    CONSTRAINT sequences_pad_check CHECK (((pad >= 0) AND (pad <= 12))),
    CONSTRAINT sequences_prefix_check CHECK ((prefix ~ '^[!-~]{0,32}$'::text))
);

--
-- Name: server_settings; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.server_settings (
    singleton boolean DEFAULT true NOT NULL,
    secret text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    CONSTRAINT server_settings_secret_check CHECK ((length(secret) >= 32)),
    CONSTRAINT server_settings_singleton_check CHECK (singleton)
);

--
-- Name: task_blockers; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_blockers (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    task_id bigint NOT NULL,
    on_task_id bigint,
    reason text NOT NULL,
    created_by text NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    resolved_at timestamp with time zone,
    resolved_by text,
    CONSTRAINT task_blockers_check CHECK (((on_task_id IS NULL) OR (on_task_id <> task_id))),
    CONSTRAINT task_blockers_reason_check CHECK (((length(reason) >= 1) AND (length(reason) <= 2000)))
);

--
-- Name: task_blockers_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.task_blockers ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.task_blockers_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: task_deps; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.task_deps (
    project_id bigint NOT NULL,
    task_id bigint NOT NULL,
    depends_on bigint NOT NULL,
    CONSTRAINT task_deps_check CHECK ((depends_on <> task_id))
);

--
-- Name: tasks; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tasks (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    title text NOT NULL,
    detail text,
    lane text,
    status text DEFAULT 'open'::text NOT NULL,
    owner_participation_id bigint,
    parent_id bigint,
    created_by text NOT NULL,
    created_by_participation_id bigint,
    idempotency_key text,
    hold_seconds integer,
    started_at timestamp with time zone,
    ref text,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    updated_at timestamp with time zone DEFAULT now() NOT NULL,
    search tsvector GENERATED ALWAYS AS (public.search_document(title, detail, ref, NULL::text)) STORED,
    CONSTRAINT tasks_detail_check CHECK ((length(detail) <= 16000)),
    CONSTRAINT tasks_hold_seconds_check CHECK (((hold_seconds >= 30) AND (hold_seconds <= 86400))),
    CONSTRAINT tasks_idempotency_key_check CHECK (((length(idempotency_key) >= 1) AND (length(idempotency_key) <= 200))),
    CONSTRAINT tasks_lane_check CHECK ((lane ~ '^[a-z0-9._-]{1,64}$'::text)),
    CONSTRAINT tasks_ref_check CHECK ((length(ref) <= 500)),
    CONSTRAINT tasks_status_check CHECK ((status = ANY (ARRAY['open'::text, 'assigned'::text, 'in_progress'::text, 'blocked'::text, 'done'::text, 'cancelled'::text]))),
    CONSTRAINT tasks_title_check CHECK (((length(title) >= 1) AND (length(title) <= 200)))
);

--
-- Name: tasks_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.tasks ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.tasks_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: tokens; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.tokens (
    project_id bigint NOT NULL,
    id bigint NOT NULL,
    participation_id bigint NOT NULL,
    token_hash bytea NOT NULL,
    created_at timestamp with time zone DEFAULT now() NOT NULL,
    expires_at timestamp with time zone,
    last_used_at timestamp with time zone,
    revoked_at timestamp with time zone,
    CONSTRAINT tokens_token_hash_check CHECK ((length(token_hash) = 32))
);

--
-- Name: tokens_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public.tokens ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public.tokens_id_seq
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);

--
-- Name: admin_links admin_links_key_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.admin_links
    ADD CONSTRAINT admin_links_key_hash_key UNIQUE (key_hash);

--
-- Name: admin_links admin_links_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.admin_links
    ADD CONSTRAINT admin_links_pkey PRIMARY KEY (id);

--
-- Name: admin_sessions admin_sessions_key_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.admin_sessions
    ADD CONSTRAINT admin_sessions_key_hash_key UNIQUE (key_hash);

--
-- Name: admin_sessions admin_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.admin_sessions
    ADD CONSTRAINT admin_sessions_pkey PRIMARY KEY (id);

--
-- Name: claims claims_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.claims
    ADD CONSTRAINT claims_pkey PRIMARY KEY (project_id, sequence, number);

--
-- Name: cursors cursors_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cursors
    ADD CONSTRAINT cursors_pkey PRIMARY KEY (project_id, participation_id, name);

--
-- Name: events events_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_pkey PRIMARY KEY (project_id, seq);

--
-- Name: invites invites_code_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invites
    ADD CONSTRAINT invites_code_hash_key UNIQUE (code_hash);

--
-- Name: invites invites_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invites
    ADD CONSTRAINT invites_pkey PRIMARY KEY (project_id, id);

--
-- Name: kysely_migration_lock kysely_migration_lock_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.kysely_migration_lock
    ADD CONSTRAINT kysely_migration_lock_pkey PRIMARY KEY (id);

--
-- Name: kysely_migration kysely_migration_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.kysely_migration
    ADD CONSTRAINT kysely_migration_pkey PRIMARY KEY (name);

--
-- Name: lanes lanes_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lanes
    ADD CONSTRAINT lanes_pkey PRIMARY KEY (project_id, name);

--
-- Name: lease_fencing lease_fencing_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lease_fencing
    ADD CONSTRAINT lease_fencing_pkey PRIMARY KEY (project_id);

--
-- Name: leases leases_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_pkey PRIMARY KEY (project_id, id);

--
-- Name: leases leases_project_id_fencing_token_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_project_id_fencing_token_key UNIQUE (project_id, fencing_token);

--
-- Name: leases leases_project_id_participation_id_surface_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_project_id_participation_id_surface_key UNIQUE (project_id, participation_id, surface);

--
-- Name: ledger_heads ledger_heads_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_heads
    ADD CONSTRAINT ledger_heads_pkey PRIMARY KEY (project_id);

--
-- Name: mcp_sessions mcp_sessions_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_sessions
    ADD CONSTRAINT mcp_sessions_pkey PRIMARY KEY (project_id, id);

--
-- Name: oidc_identities oidc_identities_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oidc_identities
    ADD CONSTRAINT oidc_identities_pkey PRIMARY KEY (issuer, subject);

--
-- Name: owners owners_handle_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.owners
    ADD CONSTRAINT owners_handle_key UNIQUE (handle);

--
-- Name: owners owners_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.owners
    ADD CONSTRAINT owners_pkey PRIMARY KEY (id);

--
-- Name: participants participants_owner_id_label_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_owner_id_label_key UNIQUE (owner_id, label);

--
-- Name: participants participants_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_pkey PRIMARY KEY (id);

--
-- Name: participations participations_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participations
    ADD CONSTRAINT participations_pkey PRIMARY KEY (project_id, id);

--
-- Name: participations participations_project_id_participant_id_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participations
    ADD CONSTRAINT participations_project_id_participant_id_key UNIQUE (project_id, participant_id);

--
-- Name: post_recipients post_recipients_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.post_recipients
    ADD CONSTRAINT post_recipients_pkey PRIMARY KEY (project_id, post_id, participation_id);

--
-- Name: posts posts_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_pkey PRIMARY KEY (project_id, id);

--
-- Name: projects projects_owner_id_slug_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_owner_id_slug_key UNIQUE (owner_id, slug);

--
-- Name: projects projects_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_pkey PRIMARY KEY (id);

--
-- Name: sequences sequences_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sequences
    ADD CONSTRAINT sequences_pkey PRIMARY KEY (project_id, name);

--
-- Name: server_settings server_settings_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.server_settings
    ADD CONSTRAINT server_settings_pkey PRIMARY KEY (singleton);

--
-- Name: task_blockers task_blockers_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_blockers
    ADD CONSTRAINT task_blockers_pkey PRIMARY KEY (project_id, id);

--
-- Name: task_deps task_deps_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_deps
    ADD CONSTRAINT task_deps_pkey PRIMARY KEY (project_id, task_id, depends_on);

--
-- Name: tasks tasks_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_pkey PRIMARY KEY (project_id, id);

--
-- Name: tokens tokens_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_pkey PRIMARY KEY (project_id, id);

--
-- Name: tokens tokens_token_hash_key; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_token_hash_key UNIQUE (token_hash);

--
-- Name: admin_links_expiry_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX admin_links_expiry_idx ON public.admin_links USING btree (expires_at);

--
-- Name: admin_links_owner_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX admin_links_owner_idx ON public.admin_links USING btree (owner_id);

--
-- Name: admin_sessions_expiry_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX admin_sessions_expiry_idx ON public.admin_sessions USING btree (expires_at);

--
-- Name: admin_sessions_owner_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX admin_sessions_owner_idx ON public.admin_sessions USING btree (owner_id);

--
-- Name: claims_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX claims_at_idx ON public.claims USING btree (project_id, at);

--
-- Name: claims_idempotency_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX claims_idempotency_key ON public.claims USING btree (project_id, participation_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

--
-- Name: claims_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX claims_search_idx ON public.claims USING gin (public.search_scope(project_id, search));

--
-- Name: events_actor_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_actor_idx ON public.events USING btree (project_id, actor, seq);

--
-- Name: events_at_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_at_idx ON public.events USING btree (project_id, at);

--
-- Name: events_lease_note_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_lease_note_search_idx ON public.events USING gin (public.search_scope(project_id, public.search_document(NULL::text, (data ->> 'note'::text), NULL::text, NULL::text))) WHERE ((type = 'lease'::text) AND ((data ->> 'note'::text) IS NOT NULL));

--
-- Name: events_post_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_post_seq_idx ON public.events USING btree (project_id, post_id, seq) WHERE (post_id IS NOT NULL);

--
-- Name: events_ref_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_ref_seq_idx ON public.events USING btree (project_id, ref, seq) WHERE (ref IS NOT NULL);

--
-- Name: events_sequence_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_sequence_seq_idx ON public.events USING btree (project_id, sequence, seq) WHERE (sequence IS NOT NULL);

--
-- Name: events_tag_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_tag_seq_idx ON public.events USING btree (project_id, tag, seq) WHERE (tag IS NOT NULL);

--
-- Name: events_task_seq_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_task_seq_idx ON public.events USING btree (project_id, task_id, seq) WHERE (task_id IS NOT NULL);

--
-- Name: events_type_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX events_type_idx ON public.events USING btree (project_id, type, seq);

--
-- Name: leases_expiry_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX leases_expiry_idx ON public.leases USING btree (project_id, expires_at);

--
-- Name: mcp_sessions_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX mcp_sessions_open_idx ON public.mcp_sessions USING btree (project_id, participation_id, last_seen_at DESC) WHERE (closed_at IS NULL);

--
-- Name: oidc_identities_owner_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX oidc_identities_owner_idx ON public.oidc_identities USING btree (owner_id);

--
-- Name: owners_email_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX owners_email_key ON public.owners USING btree (lower(email));

--
-- Name: participants_owner_self_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX participants_owner_self_idx ON public.participants USING btree (owner_id) WHERE owner_self;

--
-- Name: post_recipients_inbox_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_recipients_inbox_idx ON public.post_recipients USING btree (project_id, participation_id, post_id);

--
-- Name: post_recipients_unacked_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX post_recipients_unacked_idx ON public.post_recipients USING btree (project_id, participation_id, post_id) WHERE (acked_at IS NULL);

--
-- Name: posts_action_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_action_idx ON public.posts USING btree (project_id, id) WHERE (action IS NOT NULL);

--
-- Name: posts_idempotency_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX posts_idempotency_key ON public.posts USING btree (project_id, sender_participation_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

--
-- Name: posts_lane_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_lane_idx ON public.posts USING btree (project_id, to_lane, id) WHERE (to_lane IS NOT NULL);

--
-- Name: posts_ref_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_ref_idx ON public.posts USING btree (project_id, ref, id) WHERE (ref IS NOT NULL);

--
-- Name: posts_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_search_idx ON public.posts USING gin (public.search_scope(project_id, search));

--
-- Name: posts_sender_actor_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_sender_actor_idx ON public.posts USING btree (project_id, sender_actor, id);

--
-- Name: posts_sender_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_sender_idx ON public.posts USING btree (project_id, sender_participation_id, id);

--
-- Name: posts_tag_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_tag_idx ON public.posts USING btree (project_id, tag, id) WHERE (tag IS NOT NULL);

--
-- Name: posts_thread_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX posts_thread_idx ON public.posts USING btree (project_id, thread_id, id) WHERE (thread_id IS NOT NULL);

--
-- Name: task_blockers_on_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_blockers_on_idx ON public.task_blockers USING btree (project_id, on_task_id) WHERE ((resolved_at IS NULL) AND (on_task_id IS NOT NULL));

--
-- Name: task_blockers_open_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_blockers_open_idx ON public.task_blockers USING btree (project_id, task_id) WHERE (resolved_at IS NULL);

--
-- Name: task_deps_reverse_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX task_deps_reverse_idx ON public.task_deps USING btree (project_id, depends_on);

--
-- Name: tasks_idempotency_key; Type: INDEX; Schema: public; Owner: -
--

CREATE UNIQUE INDEX tasks_idempotency_key ON public.tasks USING btree (project_id, created_by_participation_id, idempotency_key) WHERE (idempotency_key IS NOT NULL);

--
-- Name: tasks_owner_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_owner_idx ON public.tasks USING btree (project_id, owner_participation_id, id);

--
-- Name: tasks_pending_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_pending_idx ON public.tasks USING btree (project_id, id) WHERE (status = ANY (ARRAY['open'::text, 'assigned'::text]));

--
-- Name: tasks_search_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_search_idx ON public.tasks USING gin (public.search_scope(project_id, search));

--
-- Name: tasks_status_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tasks_status_idx ON public.tasks USING btree (project_id, status, id);

--
-- Name: tokens_participation_idx; Type: INDEX; Schema: public; Owner: -
--

CREATE INDEX tokens_participation_idx ON public.tokens USING btree (project_id, participation_id);

--
-- Name: admin_links admin_links_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.admin_links
    ADD CONSTRAINT admin_links_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.owners(id) ON DELETE CASCADE;

--
-- Name: admin_sessions admin_sessions_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.admin_sessions
    ADD CONSTRAINT admin_sessions_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.owners(id) ON DELETE CASCADE;

--
-- Name: claims claims_project_id_sequence_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.claims
    ADD CONSTRAINT claims_project_id_sequence_fkey FOREIGN KEY (project_id, sequence) REFERENCES public.sequences(project_id, name) ON DELETE CASCADE;

--
-- Name: cursors cursors_project_id_participation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.cursors
    ADD CONSTRAINT cursors_project_id_participation_id_fkey FOREIGN KEY (project_id, participation_id) REFERENCES public.participations(project_id, id) ON DELETE CASCADE;

--
-- Name: events events_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.events
    ADD CONSTRAINT events_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: invites invites_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.invites
    ADD CONSTRAINT invites_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: lanes lanes_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lanes
    ADD CONSTRAINT lanes_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: lease_fencing lease_fencing_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.lease_fencing
    ADD CONSTRAINT lease_fencing_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: leases leases_project_id_participation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.leases
    ADD CONSTRAINT leases_project_id_participation_id_fkey FOREIGN KEY (project_id, participation_id) REFERENCES public.participations(project_id, id) ON DELETE CASCADE;

--
-- Name: ledger_heads ledger_heads_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.ledger_heads
    ADD CONSTRAINT ledger_heads_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: mcp_sessions mcp_sessions_project_id_participation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.mcp_sessions
    ADD CONSTRAINT mcp_sessions_project_id_participation_id_fkey FOREIGN KEY (project_id, participation_id) REFERENCES public.participations(project_id, id) ON DELETE CASCADE;

--
-- Name: oidc_identities oidc_identities_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.oidc_identities
    ADD CONSTRAINT oidc_identities_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.owners(id) ON DELETE CASCADE;

--
-- Name: participants participants_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participants
    ADD CONSTRAINT participants_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.owners(id) ON DELETE CASCADE;

--
-- Name: participations participations_participant_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participations
    ADD CONSTRAINT participations_participant_id_fkey FOREIGN KEY (participant_id) REFERENCES public.participants(id) ON DELETE CASCADE;

--
-- Name: participations participations_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.participations
    ADD CONSTRAINT participations_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: post_recipients post_recipients_project_id_participation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.post_recipients
    ADD CONSTRAINT post_recipients_project_id_participation_id_fkey FOREIGN KEY (project_id, participation_id) REFERENCES public.participations(project_id, id) ON DELETE CASCADE;

--
-- Name: post_recipients post_recipients_project_id_post_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.post_recipients
    ADD CONSTRAINT post_recipients_project_id_post_id_fkey FOREIGN KEY (project_id, post_id) REFERENCES public.posts(project_id, id) ON DELETE CASCADE;

--
-- Name: posts posts_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: posts posts_project_id_reply_to_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.posts
    ADD CONSTRAINT posts_project_id_reply_to_fkey FOREIGN KEY (project_id, reply_to) REFERENCES public.posts(project_id, id);

--
-- Name: projects projects_owner_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.projects
    ADD CONSTRAINT projects_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES public.owners(id) ON DELETE CASCADE;

--
-- Name: sequences sequences_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.sequences
    ADD CONSTRAINT sequences_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: task_blockers task_blockers_project_id_on_task_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_blockers
    ADD CONSTRAINT task_blockers_project_id_on_task_id_fkey FOREIGN KEY (project_id, on_task_id) REFERENCES public.tasks(project_id, id) ON DELETE CASCADE;

--
-- Name: task_blockers task_blockers_project_id_task_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_blockers
    ADD CONSTRAINT task_blockers_project_id_task_id_fkey FOREIGN KEY (project_id, task_id) REFERENCES public.tasks(project_id, id) ON DELETE CASCADE;

--
-- Name: task_deps task_deps_project_id_depends_on_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_deps
    ADD CONSTRAINT task_deps_project_id_depends_on_fkey FOREIGN KEY (project_id, depends_on) REFERENCES public.tasks(project_id, id) ON DELETE CASCADE;

--
-- Name: task_deps task_deps_project_id_task_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.task_deps
    ADD CONSTRAINT task_deps_project_id_task_id_fkey FOREIGN KEY (project_id, task_id) REFERENCES public.tasks(project_id, id) ON DELETE CASCADE;

--
-- Name: tasks tasks_project_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_project_id_fkey FOREIGN KEY (project_id) REFERENCES public.projects(id) ON DELETE CASCADE;

--
-- Name: tasks tasks_project_id_parent_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tasks
    ADD CONSTRAINT tasks_project_id_parent_id_fkey FOREIGN KEY (project_id, parent_id) REFERENCES public.tasks(project_id, id);

--
-- Name: tokens tokens_project_id_participation_id_fkey; Type: FK CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public.tokens
    ADD CONSTRAINT tokens_project_id_participation_id_fkey FOREIGN KEY (project_id, participation_id) REFERENCES public.participations(project_id, id) ON DELETE CASCADE;

--
-- PostgreSQL database dump complete
--
