import { appendEvent } from '../db/ledger.js';
import { deleteLeases, leasesToRelease, liveLeases, type LeaseRow } from '../db/leases.js';
import type { Trx } from '../db/pool.js';
import { forbidden } from '../errors.js';
import type { Ctx } from '../ctx.js';
import { clock } from '../time.js';

// Releasing: my own leases, always; another's only by a project admin passing force, and that
// is recorded with who forced it. Another's live lease without force is `forbidden` (admins
// included), so nobody drops someone else's hold by accident. Releasing what I no longer hold
// (released before, or expired and taken over) is no error: `released: false` says so, since a
// retried release must not fail.

export type ReleaseTarget = { id: number } | { surface: string };

export async function releaseLeases(trx: Trx, ctx: Ctx, by: ReleaseTarget, force: boolean) {
  const rows = await leasesToRelease(trx, ctx.projectId, by);
  const mine = rows.filter((r) => r.participation_id === ctx.participationId);
  const others = rows.filter((r) => r.participation_id !== ctx.participationId);
  const named = 'id' in by ? `lease #${by.id}` : `\`${by.surface}\``;

  if (others.length > 0 && force && !ctx.isAdmin) {
    throw forbidden(
      `${named} is held by \`${others[0]?.actor}\`; only a project admin can force a release`,
    );
  }
  const targets = force ? rows : mine;
  if (targets.length === 0) {
    const live = others.find((r) => r.live);
    if (live) {
      throw forbidden(
        `${named} is held by \`${live.actor}\` until ${clock(live.expires_at, live.expires_in)} (${live.expires_in} s), not by you; ask them to release it, or an admin can pass force`,
      );
    }
    const expired = others[0];
    if (expired) {
      return {
        released: false,
        leases: [],
        note: `${named} was \`${expired.actor}\`'s and expired at ${expired.expires_at.toISOString()}; it blocks nobody, so there is nothing to release`,
      };
    }
    return { released: false, leases: [], note: `${named}: ${await yourLeases(trx, ctx)}` };
  }

  const released = await deleteLeases(
    trx,
    ctx.projectId,
    targets.map((r) => r.id),
  );
  for (const r of released) {
    await appendEvent(trx, ctx.projectId, {
      type: 'release',
      actor: ctx.actor,
      participationId: ctx.participationId,
      leaseId: r.id,
      data: {
        surface: r.surface,
        mode: r.mode,
        fencing_token: Number(r.fencing_token),
        holder: r.actor,
        forced: r.participation_id !== ctx.participationId,
      },
    });
  }
  return { released: released.length > 0, leases: released.map((r) => releasedView(ctx, r)) };
}

function releasedView(ctx: Ctx, r: LeaseRow) {
  return {
    lease_id: Number(r.id),
    surface: r.surface,
    mode: r.mode,
    holder: r.actor,
    forced: r.participation_id !== ctx.participationId,
  };
}

async function yourLeases(trx: Trx, ctx: Ctx): Promise<string> {
  const live = await liveLeases(trx, ctx.projectId, { participationId: ctx.participationId });
  if (live.length === 0) return 'you hold no such lease, and no live lease at all';
  const shown = live.slice(0, 10).map((l) => `\`${l.surface}\` (#${l.id})`);
  return `you hold no such lease; yours: ${shown.join(', ')}${live.length > 10 ? ', …' : ''}`;
}
