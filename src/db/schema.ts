import type { ColumnType, Generated } from 'kysely';

// Table types for kysely, kept by hand beside the migrations they mirror.

type Timestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Id = ColumnType<string, never, never>; // bigint identity: pg returns it as a string

export interface OwnersTable {
  id: Generated<string> & Id;
  email: string;
  handle: string;
  created_at: Generated<Timestamp>;
}

export interface ProjectsTable {
  id: Generated<string> & Id;
  owner_id: string;
  slug: string;
  name: string;
  liveness_window_seconds: Generated<number>;
  created_at: Generated<Timestamp>;
}

export interface ParticipantsTable {
  id: Generated<string> & Id;
  owner_id: string;
  label: string;
  kind: Generated<'agent' | 'human'>;
  created_at: Generated<Timestamp>;
}

export interface ParticipationsTable {
  project_id: string;
  id: Generated<string> & Id;
  participant_id: string;
  lane: string | null;
  status: string | null;
  is_admin: Generated<boolean>;
  last_seen_at: Timestamp | null;
  created_at: Generated<Timestamp>;
}

export interface TokensTable {
  project_id: string;
  id: Generated<string> & Id;
  participation_id: string;
  token_hash: Buffer;
  created_at: Generated<Timestamp>;
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
  created_at: Generated<Timestamp>;
  last_seen_at: Generated<Timestamp>;
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
  at: Generated<Timestamp>;
  task_id: string | null;
  post_id: string | null;
  lease_id: string | null;
  sequence: string | null;
  ref: string | null;
  tag: string | null;
  data: Generated<Record<string, unknown>>;
}

export interface LanesTable {
  project_id: string;
  name: string;
  first_used_at: Generated<Timestamp>;
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
  created_at: Generated<Timestamp>;
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
  updated_at: Generated<Timestamp>;
}

export interface Database {
  owners: OwnersTable;
  projects: ProjectsTable;
  participants: ParticipantsTable;
  participations: ParticipationsTable;
  tokens: TokensTable;
  mcp_sessions: McpSessionsTable;
  ledger_heads: LedgerHeadsTable;
  events: EventsTable;
  lanes: LanesTable;
  posts: PostsTable;
  post_recipients: PostRecipientsTable;
  cursors: CursorsTable;
}
