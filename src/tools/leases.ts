import { z } from 'zod';
import type { Ctx } from '../ctx.js';
import { leaseById, liveLeases, type LeaseRow } from '../db/leases.js';
import type { Trx } from '../db/pool.js';
import { laneExists } from '../db/presence.js';
import { invalid, notFound } from '../errors.js';
import { coverPaths, overlapping } from '../leases/coverage.js';
import { grantLease, leaseHeldBy } from '../leases/grant.js';
import { MAX_CHECK_PATHS, MAX_LEASES_LISTED } from '../leases/limits.js';
import {
  MAX_SURFACE_LENGTH,
  parsePath,
  parseSurface,
  readSurface,
  requestBudget,
  SurfaceError,
  type Surface,
} from '../leases/overlap.js';
import { releaseLeases } from '../leases/release.js';
import { ACTOR_OR_HANDLE, bounded, ID, LANE, text } from '../names.js';
import { requireActorFilter } from './presence.js';
import { defineTool } from './types.js';

// Leases: advisory holds on paths, globs and lanes (spec §7 Leases). The rules of overlap live
// in src/leases/overlap.ts; granting and releasing in src/leases/grant.ts and release.ts.

const SURFACE_LENGTH_RULE = `a surface is 1–${MAX_SURFACE_LENGTH} characters`;

/** A string parsed into a Surface while validating, so a bad one is `invalid_argument`. */
const surfaceOf = (parse: (s: string) => Surface) =>
  z
    .string()
    .max(MAX_SURFACE_LENGTH, SURFACE_LENGTH_RULE)
    .transform((s, ctx) => {
      try {
        return parse(s);
      } catch (err) {
        if (!(err instanceof SurfaceError)) throw err;
        ctx.issues.push({ code: 'custom', message: err.message, input: s });
        return z.NEVER;
      }
    });

const SURFACE = surfaceOf(parseSurface);
const DEFAULT_TTL_SECONDS = 900;

const leaseView = (r: LeaseRow) => ({
  lease_id: Number(r.id),
  surface: r.surface,
  mode: r.mode,
  actor: r.actor,
  fencing_token: Number(r.fencing_token),
  expires_at: r.expires_at.toISOString(),
  expires_in_seconds: r.expires_in,
  note: r.note,
});

export const lease = defineTool({
  name: 'lease',
  core: true,
  title: 'Lease',
  description:
    'Hold a path, dir/, glob or lane:x before editing. Lease again (or lease_id) to renew; TTL kept.',
  input: z
    .strictObject({
      surface: SURFACE.optional(),
      lease_id: ID.optional(),
      mode: z.enum(['exclusive', 'shared']).optional(),
      ttl_seconds: z.number().int().min(1).max(2_147_483_647).optional(),
      note: text(500).optional(),
    })
    .refine((a) => (a.surface === undefined) !== (a.lease_id === undefined), {
      message: 'give exactly one of surface or lease_id',
    }),
  annotations: { readOnlyHint: false, destructiveHint: false },
  handler: async ({ trx, ctx, config }, args) => {
    const surface = args.surface ?? (await heldSurface(trx, ctx, args.lease_id as number));
    const granted = await grantLease(trx, ctx, {
      surface,
      mode: args.mode,
      // Clamped, not refused: the caller learns the effective TTL from the result.
      ttlSeconds: args.ttl_seconds,
      defaultTtlSeconds: DEFAULT_TTL_SECONDS,
      maxTtlSeconds: config.maxLeaseSeconds,
      note: args.note ?? null,
      ...(args.lease_id !== undefined ? { renewId: String(args.lease_id) } : {}),
    });
    const lane = laneLike(surface);
    if (lane && (await laneExists(trx, ctx.projectId, lane))) {
      return {
        ...granted,
        warning: `"${lane}" is a plain path here, and also the name of a lane: to hold the lane, lease lane:${lane}`,
      };
    }
    return granted;
  },
});

/** A path surface that reads like a lane name (`feeds-refactor`): likely meant as `lane:…`. */
function laneLike(surface: Surface): string | undefined {
  if (surface.lane !== undefined) return undefined;
  return LANE.safeParse(surface.text).success ? surface.text : undefined;
}

/**
 * The surface of the lease `lease(lease_id)` renews. It renews exactly that lease, the caller's
 * and still live, or refuses: a heartbeat must learn that its lease was lost, never be handed a
 * new one in its place.
 */
async function heldSurface(trx: Trx, ctx: Ctx, id: number): Promise<Surface> {
  const row = await leaseById(trx, ctx.projectId, String(id));
  if (!row) {
    throw notFound(
      `lease #${id} no longer exists: it was released, or taken over after it expired; lease its surface again for a new lease and fencing token`,
    );
  }
  if (row.participation_id !== ctx.participationId) {
    if (row.live) throw leaseHeldBy(row);
    throw notFound(
      `lease #${id} is not yours (it was ${row.actor}'s, and has expired); lease \`${row.surface}\` for a lease of your own`,
    );
  }
  if (!row.live) {
    throw notFound(
      `lease #${id} expired at ${row.expires_at.toISOString()}; lease \`${row.surface}\` again for a new lease and fencing token`,
    );
  }
  return readSurface(row.surface);
}

export const release = defineTool({
  name: 'release',
  core: true,
  title: 'Release',
  description: 'Release your lease; admins may force.',
  input: z.strictObject({
    surface: bounded(MAX_SURFACE_LENGTH, SURFACE_LENGTH_RULE).optional(),
    lease_id: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER).optional(),
    force: z.boolean().optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true },
  handler: async ({ trx, ctx }, args) => {
    if ((args.surface === undefined) === (args.lease_id === undefined)) {
      throw invalid('pass either surface or lease_id (exactly one)');
    }
    const by =
      args.lease_id !== undefined
        ? { id: args.lease_id }
        : // Validated as a surface so a typo is reported as such, not as "not held" (without
          // the glob limits: a lease granted before them can still be released by surface).
          { surface: parseSurfaceArg(args.surface as string) };
    return releaseLeases(trx, ctx, by, args.force ?? false);
  },
});

function parseSurfaceArg(s: string): string {
  try {
    return readSurface(s).text;
  } catch (err) {
    if (err instanceof SurfaceError) throw invalid(`surface: ${err.message}`);
    throw err;
  }
}

export const who_holds = defineTool({
  name: 'who_holds',
  core: true,
  title: 'Who holds',
  description: "Live leases: all, those overlapping surface, or actor's.",
  input: z.strictObject({
    surface: SURFACE.optional(),
    actor: ACTOR_OR_HANDLE.optional(),
  }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, args) => {
    if (args.actor !== undefined) await requireActorFilter(trx, ctx.projectId, args.actor, 'actor');
    // Without a surface, the rows are the answer: one more than is listed says there are more.
    const rows = await liveLeases(trx, ctx.projectId, {
      actor: args.actor,
      ...(args.surface ? {} : { limit: MAX_LEASES_LISTED + 1 }),
    });
    const { hits, assumed } = args.surface
      ? await overlapping(args.surface, rows, requestBudget(ctx.meter), MAX_LEASES_LISTED + 1)
      : { hits: rows, assumed: false };
    return {
      leases: hits.slice(0, MAX_LEASES_LISTED).map(leaseView),
      has_more: hits.length > MAX_LEASES_LISTED,
      ...(assumed ? { overlap_assumed: true } : {}),
    };
  },
});

export const check_paths = defineTool({
  name: 'check_paths',
  title: 'Check paths',
  description: "Others' live leases covering each of these paths.",
  input: z.strictObject({
    paths: z
      .array(surfaceOf(parsePath))
      .min(1)
      .max(MAX_CHECK_PATHS, `at most ${MAX_CHECK_PATHS} paths per call; split the list`),
  }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, args) => {
    const rows = await liveLeases(trx, ctx.projectId, {
      excludeParticipationId: ctx.participationId,
    });
    const { paths, assumed } = await coverPaths(args.paths, rows, requestBudget(ctx.meter));
    return {
      paths: paths.map((p) => ({
        path: p.path,
        leases: p.leases.map((row) => ({
          lease_id: Number(row.id),
          surface: row.surface,
          mode: row.mode,
          actor: row.actor,
          expires_at: row.expires_at.toISOString(),
        })),
        ...(p.more > 0 ? { more: p.more } : {}),
      })),
      ...(assumed ? { overlap_assumed: true } : {}),
    };
  },
});
