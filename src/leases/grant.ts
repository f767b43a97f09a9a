import { appendEvent, type NewEvent } from '../db/ledger.js';
import {
  deleteLeases,
  insertLease,
  leasesForGrant,
  liveLeaseCounts,
  lockLeaseGrants,
  nextFencingToken,
  renewLease,
  type LeaseRow,
} from '../db/leases.js';
import type { Trx } from '../db/pool.js';
import { AppError, invalid, notFound } from '../errors.js';
import type { Ctx } from '../ctx.js';
import { clock } from '../time.js';
import {
  MAX_EXPIRED_WEIGHED,
  MAX_LEASES_PER_PARTICIPATION,
  MAX_LEASES_PER_PROJECT,
} from './limits.js';
import { modesConflict, overlaps, requestBudget, type Mode, type Surface } from './overlap.js';
import { storedSurface } from './surface.js';
import type { Budget } from './work.js';

// Granting a lease: renew what I hold, refuse what another holds live, take over what expired.
// Lock order: the project's grant lock, the lease rows, the fencing counter, the ledger head.

export interface GrantRequest {
  surface: Surface;
  /** Omitted: a renewal keeps the held mode, a new grant is exclusive. */
  mode: Mode | undefined;
  /** Omitted: a renewal keeps the lease's own TTL, a new grant takes `defaultTtlSeconds`. */
  ttlSeconds: number | undefined;
  defaultTtlSeconds: number;
  /** The ceiling (BATON_MAX_LEASE_SECONDS): a kept TTL is clamped to it too. */
  maxTtlSeconds: number;
  note: string | null;
  /** `lease(lease_id)`: renew exactly this lease of the caller's, or refuse; never grant anew. */
  renewId?: string;
}

export async function grantLease(trx: Trx, ctx: Ctx, req: GrantRequest) {
  await lockLeaseGrants(trx, ctx.projectId);
  const rows = await leasesForGrant(
    trx,
    ctx.projectId,
    ctx.participationId,
    req.surface,
    MAX_EXPIRED_WEIGHED,
  );
  const own = rows.find(
    (r) => r.participation_id === ctx.participationId && r.surface === req.surface.text,
  );
  if (req.renewId !== undefined && (!own?.live || own.id !== req.renewId)) {
    // Between the caller's read and this lock it expired, or was released or taken over.
    throw notFound(
      `lease #${req.renewId} is no longer yours; lease \`${req.surface.text}\` again for a new lease and fencing token`,
    );
  }
  if (!own?.live) await checkCaps(trx, ctx);
  const mode = req.mode ?? (own?.live ? own.mode : 'exclusive');
  // A heartbeat (leasing again without a TTL) keeps the TTL the lease has, even after it
  // expired: a 5 s lease renewed stays a 5 s lease.
  const ttlSeconds = Math.min(
    req.ttlSeconds ?? own?.ttl_seconds ?? req.defaultTtlSeconds,
    req.maxTtlSeconds,
  );
  const others = rows.filter(
    (r) => r.participation_id !== ctx.participationId && modesConflict(mode, r.mode),
  );
  const budget = requestBudget(ctx.meter);
  // Live leases first: if the budget runs out, it is spent on what can refuse the grant.
  const holders: LeaseRow[] = [];
  for (const r of others) {
    if (r.live && (await contests(req.surface, r, budget)).overlap) holders.push(r);
  }
  if (holders.length > 0) throw leaseHeld(req.surface.text, holders, budget.assumptions > 0);
  if (own?.live) {
    const renewed = await renewLease(trx, ctx.projectId, own.id, {
      mode,
      note: req.note,
      ttlSeconds,
    });
    // Undefined only when the holder released it a moment ago; then this is a new grant.
    if (renewed) {
      if (renewed.mode !== own.mode) {
        await appendEvent(trx, ctx.projectId, leaseEvent(ctx, renewed, ttlSeconds, true));
      }
      return grantView(renewed, ttlSeconds, true, []);
    }
    if (req.renewId !== undefined) {
      throw notFound(`lease #${req.renewId} was released a moment ago; lease the surface again`);
    }
  }

  // An expired lease is taken over only when the overlap was decided, not assumed: taking it
  // over deletes it and tells its holder. (A renewal, above, takes nothing over, so it is
  // weighed only here.)
  const contested: LeaseRow[] = [];
  for (const r of others) {
    if (r.live) continue;
    const { overlap, decided } = await contests(req.surface, r, budget);
    if (overlap && decided) contested.push(r);
  }
  // Expired leases never block: the ones this grant would have conflicted with (and my own
  // expired lease on this very surface) end here, and their holders learn it from the ledger.
  const expired = [...contested, ...(own && !own.live ? [own] : [])];
  const takenOver = await deleteLeases(
    trx,
    ctx.projectId,
    expired.map((r) => r.id),
  );
  const fencingToken = await nextFencingToken(trx, ctx.projectId);
  const lease = await insertLease(trx, ctx.projectId, {
    participationId: ctx.participationId,
    actor: ctx.actor,
    surface: req.surface.text,
    mode,
    fencingToken,
    note: req.note,
    ttlSeconds,
  });
  for (const old of takenOver) {
    await appendEvent(trx, ctx.projectId, {
      type: 'lease_expired',
      actor: old.actor,
      participationId: old.participation_id,
      leaseId: old.id,
      data: {
        surface: old.surface,
        mode: old.mode,
        fencing_token: Number(old.fencing_token),
        expired_at: old.expires_at.toISOString(),
        taken_over_by: ctx.actor,
        by_lease_id: Number(lease.id),
      },
    });
  }
  await appendEvent(trx, ctx.projectId, leaseEvent(ctx, lease, ttlSeconds, false));
  return grantView(lease, ttlSeconds, false, takenOver);
}

/** Whether the lease `r` overlaps the surface asked for, and whether that was decided or assumed. */
async function contests(surface: Surface, r: LeaseRow, budget: Budget) {
  const before = budget.assumptions;
  const held = storedSurface(r.surface, budget);
  const overlap = held === undefined || overlaps(surface, held, budget);
  if (budget.due) await budget.pause();
  return { overlap, decided: budget.assumptions === before };
}

async function checkCaps(trx: Trx, ctx: Ctx): Promise<void> {
  const live = await liveLeaseCounts(trx, ctx.projectId, ctx.participationId);
  if (live.mine >= MAX_LEASES_PER_PARTICIPATION) {
    throw invalid(
      `you hold ${live.mine} live leases, the most one participant may hold (${MAX_LEASES_PER_PARTICIPATION}); release some, or lease a directory or glob that covers them, then lease again`,
      { limit: MAX_LEASES_PER_PARTICIPATION },
    );
  }
  if (live.project >= MAX_LEASES_PER_PROJECT) {
    throw invalid(
      `this project has ${live.project} live leases, the most a project may hold (${MAX_LEASES_PER_PROJECT}); leases must be released or expire before another is granted`,
      { limit: MAX_LEASES_PER_PROJECT },
    );
  }
}

function leaseEvent(ctx: Ctx, lease: LeaseRow, ttlSeconds: number, renewed: boolean): NewEvent {
  return {
    type: 'lease',
    actor: ctx.actor,
    participationId: ctx.participationId,
    leaseId: lease.id,
    data: {
      surface: lease.surface,
      mode: lease.mode,
      fencing_token: Number(lease.fencing_token),
      ttl_seconds: ttlSeconds,
      expires_at: lease.expires_at.toISOString(),
      note: lease.note,
      renewed,
    },
  };
}

function grantView(lease: LeaseRow, ttlSeconds: number, renewed: boolean, takenOver: LeaseRow[]) {
  return {
    lease_id: Number(lease.id),
    surface: lease.surface,
    mode: lease.mode,
    fencing_token: Number(lease.fencing_token),
    ttl_seconds: ttlSeconds,
    expires_at: lease.expires_at.toISOString(),
    renewed,
    ...(takenOver.length > 0
      ? {
          taken_over: takenOver.map((t) => ({
            lease_id: Number(t.id),
            surface: t.surface,
            actor: t.actor,
            expired_at: t.expires_at.toISOString(),
          })),
        }
      : {}),
  };
}

const MAX_HOLDERS_SHOWN = 50;

/** The refusal for naming another's live lease (`lease(lease_id)` with someone else's id). */
export function leaseHeldBy(row: LeaseRow): AppError {
  return leaseHeld(row.surface, [row], false);
}

function leaseHeld(surface: string, holders: LeaseRow[], assumed: boolean): AppError {
  // The holder who keeps it longest says when it can be free at the earliest.
  const sorted = [...holders].sort((a, b) => b.expires_in - a.expires_in);
  const first = sorted[0] as LeaseRow;
  const what =
    first.surface === surface
      ? `surface \`${surface}\` is held by`
      : `surface \`${surface}\` overlaps \`${first.surface}\`, held by`;
  const more = sorted.length > 1 ? ` and ${sorted.length - 1} more (see holders)` : '';
  const why = assumed
    ? ' (matching reached its work limit, so overlap was assumed: a simpler surface may be granted)'
    : '';
  return new AppError(
    'lease_held',
    `${what} \`${first.actor}\` until ${clock(first.expires_at, first.expires_in)} (${first.expires_in} s)${more}${why}; wait, or post to them`,
    {
      ...(assumed ? { overlap_assumed: true } : {}),
      holders: sorted.slice(0, MAX_HOLDERS_SHOWN).map((h) => ({
        actor: h.actor,
        surface: h.surface,
        mode: h.mode,
        lease_id: Number(h.id),
        expires_at: h.expires_at.toISOString(),
        expires_in_seconds: h.expires_in,
      })),
      retry_after_seconds: first.expires_in,
    },
  );
}
