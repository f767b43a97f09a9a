import type { Via } from '../db/event-types.js';

// Who performs an administrative act, as the ledger records it: the actor shown everywhere, the
// participation when the act came through a token (tools), none when the owner acted as
// themselves (web admin, command line), and the edge it came through.

export interface Acting {
  actor: string;
  participationId: string | null;
  via: Via;
}

/** A participation an act targets: by its label (tools) or its id (a web admin path). */
export type Target = { label: string } | { participationId: string };
