import { appendEvent } from '../db/ledger.js';
import type { Trx } from '../db/pool.js';
import { setLivenessWindow as storeLivenessWindow } from '../db/presence.js';
import type { Acting } from './acting.js';

// Project settings an admin changes: the liveness window (how long after its last call a
// participant counts as active).

export async function setLivenessWindow(
  trx: Trx,
  projectId: string,
  by: Acting,
  seconds: number,
): Promise<{ seconds: number; previous: number }> {
  const previous = await storeLivenessWindow(trx, projectId, seconds);
  await appendEvent(trx, projectId, {
    type: 'liveness_window_set',
    actor: by.actor,
    participationId: by.participationId,
    data: { seconds, previous, via: by.via },
  });
  return { seconds, previous };
}
