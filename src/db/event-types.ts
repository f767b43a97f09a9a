// The ledger's closed vocabulary: every event type Baton appends, with the shape of its `data`.
// An append names its type from this map (src/db/ledger.ts `NewEvent`), so a misspelt type or a
// field an event does not carry fails the type check instead of reaching the ledger.

/** Which edge an administrative act came through. */
export type Via = 'mcp' | 'web' | 'cli';

export type Address = { to_actor: string } | { to_lane: string } | { broadcast: true };
type LeaseData = { surface: string; mode: 'exclusive' | 'shared'; fencing_token: number };

export interface EventData {
  // Handoffs, presence, identity
  post: Address & {
    subject?: string;
    /** The start of the body on one line, so a reader of the ledger sees what it is about. */
    excerpt?: string;
    action?: string;
    reply_to?: number;
    recipients: number;
  };
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- an ack says all in its columns
  ack: {};
  register: { lane: string | null; status?: string; previous_lane: string | null };
  signing_key_set: { kid: string };

  // Claims (the claim event itself is built in SQL: src/db/claims.ts)
  claim: { number: number; formatted: string; note: string | null };
  sequence_seeded: {
    current: number;
    prefix: string;
    pad: number;
    previous: Record<string, unknown> | null;
  };

  // Leases
  lease: LeaseData & {
    ttl_seconds: number;
    expires_at: string;
    note: string | null;
    renewed: boolean;
  };
  release: LeaseData & { holder: string; forced: boolean };
  lease_expired: LeaseData & { expired_at: string; taken_over_by: string; by_lease_id: number };

  // Tasks (every task event also carries task_id)
  task_created: {
    title: string;
    owner: string | null;
    depends_on: string[];
    parent: number | null;
  };
  task_assigned: { owner: string; previous_owner: string | null };
  task_started: { via?: 'task_claim_next'; lease_seconds?: number };
  task_blocked: { blocker_id: number; on: number | null; reason: string };
  task_unblocked: { blocker_ids: number[]; open_blockers: boolean; status: string };
  task_shipped: { unblocked: number[] };
  task_cancelled: { reason: string; previous_status: string };
  task_reopened: { previous_status: string };
  task_reclaimed: {
    previous_owner: string | null;
    /** By task_claim_next: how long the holder was silent before the task returned. */
    hold_seconds?: number;
    /** By a participant's deletion: the state it was in, and why. */
    previous_status?: string;
    reason?: string;
  };

  // Administration (src/access/: one implementation per act, whichever edge it came through)
  participant_provisioned: {
    participant: string;
    /** What the act created besides the token: ['owner', 'participant', 'project', …]. */
    created: string[];
    kind: 'agent' | 'human';
    lane: string | null;
    is_admin: boolean | null;
    expires_at: Date | null;
    via: Via;
  };
  token_rotated: { participant: string; revoked: number; expires_at: Date | null; via: Via };
  tokens_revoked: { participant: string; revoked: number; via: Via };
  invite_created: {
    invite_id: number;
    participant: string | null;
    kind: 'agent' | 'human';
    lane: string | null;
    is_admin: boolean;
    uses: number;
    expires_at: Date;
    via: Via;
  };
  invite_revoked: { invite_id: number; uses_left: number; via: Via };
  invite_redeemed: { invite_id: number; uses_left: number };
  liveness_window_set: { seconds: number; previous: number; via: Via };
  participant_updated: { participant: string; is_admin: boolean; via: Via };
  participant_renamed: { from: string; to: string; via: Via };
  participant_deleted: {
    participant: string;
    tokens_revoked: number;
    leases_ended: number;
    tasks_returned: number[];
    via: Via;
  };
  project_created: { slug: string; name: string; via: Via };
  project_renamed: {
    from: { slug: string; name: string };
    to: { slug: string; name: string };
    via: Via;
  };
}

export type EventType = keyof EventData;

/** Every type, for filters and pickers; the check below keeps it equal to EventData's keys. */
export const EVENT_TYPES = [
  'post',
  'ack',
  'register',
  'signing_key_set',
  'claim',
  'sequence_seeded',
  'lease',
  'release',
  'lease_expired',
  'task_created',
  'task_assigned',
  'task_started',
  'task_blocked',
  'task_unblocked',
  'task_shipped',
  'task_cancelled',
  'task_reopened',
  'task_reclaimed',
  'participant_provisioned',
  'token_rotated',
  'tokens_revoked',
  'invite_created',
  'invite_revoked',
  'invite_redeemed',
  'liveness_window_set',
  'participant_updated',
  'participant_renamed',
  'participant_deleted',
  'project_created',
  'project_renamed',
] as const satisfies readonly EventType[];

type Missing = Exclude<EventType, (typeof EVENT_TYPES)[number]>;
// Fails to compile when EventData gains a type that EVENT_TYPES lacks.
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

/**
 * Types earlier versions appended that ledgers may still hold: readable and filterable, never
 * appended again (`token_minted` became `participant_provisioned` with `via: 'cli'`).
 */
export const HISTORICAL_EVENT_TYPES = ['token_minted'] as const;
