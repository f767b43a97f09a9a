// The request identity: who is calling, in which project. Resolved from the bearer token alone
// (src/http/auth.ts) and handed to every tool; a leaf module, so any layer may name it.

export interface Ctx {
  projectId: string;
  projectSlug: string;
  participationId: string;
  participantId: string;
  handle: string;
  label: string;
  /** `handle/label`, how this identity is shown everywhere */
  actor: string;
  kind: 'agent' | 'human';
  lane: string | null;
  isAdmin: boolean;
  requestId: string;
  /**
   * Costly work this call did (lease matching units), set by the dispatcher for one call and
   * returned with its outcome, which the edge charges to the token's rate limit: a bucket that
   * counts requests alone would let one token take the CPU every tenant shares.
   */
  meter?: WorkMeter;
}

export interface WorkMeter {
  units: number;
}

/**
 * The columns an identity is read from: a resolved token's row, or the owner's self acting from
 * the pages. Named by shape so this module imports nothing.
 */
export interface IdentityColumns {
  project_id: string;
  project_slug: string;
  participation_id: string;
  participant_id: string;
  handle: string;
  label: string;
  kind: 'agent' | 'human';
  lane: string | null;
  is_admin: boolean;
}

export function ctxOf(row: IdentityColumns, requestId: string): Ctx {
  return {
    projectId: row.project_id,
    projectSlug: row.project_slug,
    participationId: row.participation_id,
    participantId: row.participant_id,
    handle: row.handle,
    label: row.label,
    actor: `${row.handle}/${row.label}`,
    kind: row.kind,
    lane: row.lane,
    isAdmin: row.is_admin,
    requestId,
  };
}
