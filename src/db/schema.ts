import type { ColumnType, Generated } from 'kysely';

// Table types for kysely, kept by hand beside the migrations they mirror.

type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp with a database default: optional on insert. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Id = ColumnType<string, never, never>; // bigint identity: pg returns it as a string
/** A generated tsvector column (migrations/0011_search.sql): read-only, in tsvector's text form. */
type SearchDocument = ColumnType<string, never, never>;

export interface OwnersTable {
  id: Generated<string> & Id;
  email: string;
  handle: string;
  created_at: DefaultTimestamp;
}

export interface ProjectsTable {
  id: Generated<string> & Id;
  owner_id: string;
  slug: string;
  name: string;
  liveness_window_seconds: Generated<number>;
  created_at: DefaultTimestamp;
}

export interface ParticipantsTable {
  id: Generated<string> & Id;
  owner_id: string;
  label: string;
  kind: Generated<'agent' | 'human'>;
  created_at: DefaultTimestamp;
  /** The participant the owner acts as in the web pages (migrations/0013_owner_self.sql). */
  owner_self: Generated<boolean>;
}

export interface ParticipationsTable {
  project_id: string;
  id: Generated<string> & Id;
  participant_id: string;
  lane: string | null;
  status: string | null;
  is_admin: Generated<boolean>;
  last_seen_at: Timestamp | null;
  created_at: DefaultTimestamp;
  signing_jwk: Record<string, unknown> | null;
  signing_kid: string | null;
}

export interface TokensTable {
  project_id: string;
  id: Generated<string> & Id;
  participation_id: string;
  token_hash: Buffer;
  created_at: DefaultTimestamp;
  expires_at: Timestamp | null;
  last_used_at: Timestamp | null;
  revoked_at: Timestamp | null;
}

export interface McpSessionsTable {
  project_id: string;
  id: string;
  participation_id: string;
  protocol_version: string;
  client_name: string | null;
  created_at: DefaultTimestamp;
  last_seen_at: DefaultTimestamp;
  closed_at: Timestamp | null;
}

export interface LedgerHeadsTable {
  project_id: string;
  last_seq: string;
}

export interface EventsTable {
  project_id: string;
  seq: string;
  type: string;
  actor: string;
  participation_id: string | null;
  at: DefaultTimestamp;
  task_id: string | null;
  post_id: string | null;
  lease_id: string | null;
  sequence: string | null;
  ref: string | null;
  tag: string | null;
  data: Generated<Record<string, unknown>>;
}

export interface InvitesTable {
  project_id: string;
  id: Generated<string> & Id;
  code_hash: Buffer;
  created_by: string;
  label: string | null;
  kind: 'agent' | 'human';
  lane: string | null;
  is_admin: boolean;
  uses_total: number;
  uses_left: number;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
  created_at: DefaultTimestamp;
}

export type TaskStatus = 'open' | 'assigned' | 'in_progress' | 'blocked' | 'done' | 'cancelled';

export interface TasksTable {
  project_id: string;
  id: Generated<string> & Id;
  title: string;
  detail: string | null;
  lane: string | null;
  status: Generated<TaskStatus>;
  owner_participation_id: string | null;
  parent_id: string | null;
  created_by: string;
  created_by_participation_id: string | null;
  idempotency_key: string | null;
  hold_seconds: number | null;
  started_at: Timestamp | null;
  ref: string | null;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
  search: SearchDocument;
}

export interface TaskDepsTable {
  project_id: string;
  task_id: string;
  depends_on: string;
}

export interface TaskBlockersTable {
  project_id: string;
  id: Generated<string> & Id;
  task_id: string;
  on_task_id: string | null;
  reason: string;
  created_by: string;
  created_at: DefaultTimestamp;
  resolved_at: Timestamp | null;
  resolved_by: string | null;
}

export interface SequencesTable {
  project_id: string;
  name: string;
  prefix: Generated<string>;
  pad: Generated<number>;
  last_number: string;
  created_at: DefaultTimestamp;
}

export interface ClaimsTable {
  project_id: string;
  sequence: string;
  number: string;
  formatted: string;
  participation_id: string;
  actor: string;
  note: string | null;
  ref: string | null;
  idempotency_key: string | null;
  at: DefaultTimestamp;
  search: SearchDocument;
}

export interface LeaseFencingTable {
  project_id: string;
  last_token: string;
}

export interface LeasesTable {
  project_id: string;
  id: Generated<string> & Id;
  participation_id: string;
  actor: string;
  surface: string;
  mode: 'exclusive' | 'shared';
  fencing_token: string;
  note: string | null;
  granted_at: DefaultTimestamp;
  expires_at: Timestamp;
  /** The TTL it was granted or last renewed with; a renewal without one keeps it (0014). */
  ttl_seconds: Generated<number>;
}

export interface LanesTable {
  project_id: string;
  name: string;
  first_used_at: DefaultTimestamp;
}

export interface PostsTable {
  project_id: string;
  id: Generated<string> & Id;
  sender_participation_id: string;
  sender_actor: string;
  to_participation_id: string | null;
  to_actor: string | null;
  to_lane: string | null;
  broadcast: Generated<boolean>;
  subject: string | null;
  body: string;
  ref: string | null;
  tag: string | null;
  reply_to: string | null;
  thread_id: string | null;
  idempotency_key: string | null;
  created_at: DefaultTimestamp;
  signature: string | null;
  signing_kid: string | null;
  search: SearchDocument;
  /** A short flag saying the recipients are expected to act (`review`); see 0012. */
  action: string | null;
  /** A JSON object beside the body. */
  data: Record<string, unknown> | null;
}

export interface PostRecipientsTable {
  project_id: string;
  post_id: string;
  participation_id: string;
  delivered_at: Timestamp | null;
  acked_at: Timestamp | null;
}

export interface CursorsTable {
  project_id: string;
  participation_id: string;
  name: string;
  last_seq: Generated<string>;
  updated_at: DefaultTimestamp;
}

export interface ServerSettingsTable {
  singleton: Generated<boolean>;
  secret: string;
  created_at: DefaultTimestamp;
}

export interface AdminSessionsTable {
  id: Generated<string> & Id;
  key_hash: Buffer;
  owner_id: string;
  via: 'link' | 'oidc';
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  revoked_at: Timestamp | null;
}

export interface AdminLinksTable {
  id: Generated<string> & Id;
  key_hash: Buffer;
  owner_id: string;
  created_at: DefaultTimestamp;
  expires_at: Timestamp;
  used_at: Timestamp | null;
}

export interface OidcIdentitiesTable {
  issuer: string;
  subject: string;
  owner_id: string;
  email: string;
  created_at: DefaultTimestamp;
  last_sign_in_at: DefaultTimestamp;
}

export interface Database {
  tasks: TasksTable;
  task_deps: TaskDepsTable;
  task_blockers: TaskBlockersTable;
  invites: InvitesTable;
  owners: OwnersTable;
  projects: ProjectsTable;
  participants: ParticipantsTable;
  participations: ParticipationsTable;
  tokens: TokensTable;
  mcp_sessions: McpSessionsTable;
  ledger_heads: LedgerHeadsTable;
  events: EventsTable;
  sequences: SequencesTable;
  claims: ClaimsTable;
  lease_fencing: LeaseFencingTable;
  leases: LeasesTable;
  lanes: LanesTable;
  posts: PostsTable;
  post_recipients: PostRecipientsTable;
  cursors: CursorsTable;
  server_settings: ServerSettingsTable;
  admin_sessions: AdminSessionsTable;
  admin_links: AdminLinksTable;
  oidc_identities: OidcIdentitiesTable;
}
