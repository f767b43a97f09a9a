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
