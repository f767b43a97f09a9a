import { z } from 'zod';
import {
  claimNumbers,
  findClaim,
  findClaimByKey,
  findSequence,
  insertSequence,
  lastClaim,
  latestClaims,
  listSequences,
  sequenceNames,
  updateSequence,
  type ClaimRow,
  type NewClaim,
  type SequenceRow,
} from '../db/claims.js';
import { appendEvent } from '../db/ledger.js';
import { advisoryXactLock } from '../db/locks.js';
import type { Executor } from '../db/pool.js';
import { AppError, conflict, forbidden, notFound } from '../errors.js';
import { line, text } from '../names.js';
import { defineTool, type Ctx } from './types.js';

// Claims: gap-free numbered sequences (spec §7 Claims).

const SEQUENCE_NAME = /^[a-z0-9._-]{1,64}$/;
const SEQUENCE_RULE = 'a sequence name is 1–64 characters of a-z, 0-9, ".", "_" and "-" (e.g. adr)';
// Where a sequence is created, its shape is in the schema for the model to see; where one is
// only named, the check runs without spending catalogue bytes on the pattern.
const NEW_SEQUENCE = z.string().regex(SEQUENCE_NAME, SEQUENCE_RULE);
const SEQUENCE = z
  .string()
  .max(64)
  .refine((s) => SEQUENCE_NAME.test(s), SEQUENCE_RULE);
// Far below 2^53, so a number is exact as JSON.
const MAX_NUMBER = 999_999_999_999;
const NUMBER = z.number().int().min(1).max(MAX_NUMBER);
const NOTE = text(500);
const REF = line(500, 0);

const claimView = (c: ClaimRow) => ({
  sequence: c.sequence,
  number: Number(c.number),
  formatted: c.formatted,
  by: c.actor,
  at: c.at.toISOString(),
  note: c.note,
  ref: c.ref,
});

const sequenceView = (s: SequenceRow) => ({
  sequence: s.name,
  prefix: s.prefix,
  pad: s.pad,
  last_number: Number(s.last_number),
  next_number: Number(s.last_number) + 1,
  next_formatted: s.next_formatted,
});

async function unknownSequence(db: Executor, projectId: string, name: string) {
  const known = await sequenceNames(db, projectId, 20);
  return notFound(
    `no sequence \`${name}\` in this project; ` +
      (known.length ? `known: ${known.join(', ')}` : 'none exists yet (claim creates one)'),
  );
}

export const claim = defineTool({
  name: 'claim',
  core: true,
  title: 'Claim number',
  description: "Take a sequence's next number (e.g. ADR-0042): never twice, no gaps.",
  input: z.strictObject({
    sequence: NEW_SEQUENCE,
    note: NOTE.optional(),
    ref: REF.optional(),
    idempotency_key: line(128).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false },
  // Without an idempotency key a claim is one statement, sent through the process's claim
  // queue (which may take it together with others on the same sequence).
  direct: async ({ claims, ctx }, args) => {
    if (args.idempotency_key !== undefined) return undefined;
    const c = await claims.claim(ctx.projectId, args.sequence, newClaim(ctx, args));
    const result = claimResult(c);
    return c.unread > 0 ? { ...result, unread: c.unread } : result;
  },
  handler: async ({ trx, ctx }, args) => {
    const key = args.idempotency_key ?? null;
    if (key !== null) {
      // Same sender, same key: the first claim answers, and nothing is written. The lock makes a
      // concurrent retry wait for the first attempt and then find it.
      await advisoryXactLock(trx, 'claim-idempotency', ctx.projectId, ctx.participationId, key);
      const first = await findClaimByKey(trx, ctx.projectId, ctx.participationId, key);
      if (first && first.sequence !== args.sequence) {
        throw conflict(
          `idempotency_key \`${key}\` already claimed ${first.formatted} from \`${first.sequence}\`; use a new key`,
        );
      }
      if (first) return claimResult(first);
    }
    const [c] = await claimNumbers(trx, ctx.projectId, args.sequence, [newClaim(ctx, args)], key);
    // Here the dispatcher counts `unread` after the commit.
    return claimResult(c as ClaimRow);
  },
});

const newClaim = (ctx: Ctx, args: { note?: string; ref?: string }): NewClaim => ({
  participationId: ctx.participationId,
  actor: ctx.actor,
  note: args.note ?? null,
  ref: args.ref ?? null,
});

const claimResult = (c: ClaimRow) => ({
  sequence: c.sequence,
  number: Number(c.number),
  formatted: c.formatted,
});

export const seed_sequence = defineTool({
  name: 'seed_sequence',
  title: 'Seed sequence',
  description: "Set a sequence's last used number and format. Admins only once it exists.",
  input: z.strictObject({
    sequence: NEW_SEQUENCE,
    current: z.number().int().min(0).max(MAX_NUMBER),
    prefix: z
      .string()
      .regex(
        /^[!-~]{0,32}$/,
        'a prefix is up to 32 printable ASCII characters without spaces (e.g. ADR-)',
      )
      .optional(),
    pad: z.number().int().min(0).max(12).optional(),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true },
  handler: async ({ trx, ctx }, args) => {
    const prefix = args.prefix ?? null;
    const pad = args.pad ?? null;
    let previous: SequenceRow | undefined;
    let seeded = await insertSequence(trx, ctx.projectId, {
      name: args.sequence,
      prefix: prefix ?? '',
      pad: pad ?? 0,
      lastNumber: args.current,
    });
    if (!seeded) {
      if (!ctx.isAdmin) {
        throw forbidden(
          `sequence \`${args.sequence}\` already exists; only a project admin can re-seed it`,
        );
      }
      previous = await findSequence(trx, ctx.projectId, args.sequence, { lock: true });
      const last = await lastClaim(trx, ctx.projectId, args.sequence);
      if (last && Number(last.number) > args.current) {
        throw new AppError(
          'conflict',
          `\`${args.sequence}\` has handed out up to ${last.formatted} (${last.number}); current must be at least ${last.number}`,
          { last_claimed: Number(last.number) },
        );
      }
      seeded = await updateSequence(trx, ctx.projectId, {
        name: args.sequence,
        prefix,
        pad,
        lastNumber: args.current,
      });
    }
    await appendEvent(trx, ctx.projectId, {
      type: 'sequence_seeded',
      actor: ctx.actor,
      participationId: ctx.participationId,
      sequence: seeded.name,
      data: {
        current: args.current,
        prefix: seeded.prefix,
        pad: seeded.pad,
        previous: previous ? sequenceView(previous) : null,
      },
    });
    return { ...sequenceView(seeded), created: previous === undefined };
  },
});

export const who_claimed = defineTool({
  name: 'who_claimed',
  title: 'Who claimed',
  description: 'Who claimed a number, when, with which note and ref.',
  input: z.strictObject({ sequence: SEQUENCE, number: NUMBER }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, args) => {
    const c = await findClaim(trx, ctx.projectId, args.sequence, args.number);
    if (c) return claimView(c);
    const s = await findSequence(trx, ctx.projectId, args.sequence, { lock: false });
    if (!s) throw await unknownSequence(trx, ctx.projectId, args.sequence);
    const last = Number(s.last_number);
    throw notFound(
      args.number > last
        ? `\`${args.sequence}\` has not reached ${args.number}: the next claim gets ${s.next_formatted}`
        : `number ${args.number} of \`${args.sequence}\` was never claimed: the sequence was seeded past it`,
    );
  },
});

export const latest_claims = defineTool({
  name: 'latest_claims',
  title: 'Latest claims',
  description: 'Recent claims, newest first, of one sequence or all.',
  input: z.strictObject({
    sequence: SEQUENCE.optional(),
    limit: z.number().int().min(1).max(200).optional(),
  }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, args) => {
    const rows = await latestClaims(trx, ctx.projectId, {
      sequence: args.sequence,
      limit: args.limit ?? 20,
    });
    if (rows.length === 0 && args.sequence) {
      const s = await findSequence(trx, ctx.projectId, args.sequence, { lock: false });
      if (!s) throw await unknownSequence(trx, ctx.projectId, args.sequence);
    }
    return { claims: rows.map(claimView) };
  },
});

const LIST_LIMIT = 200;

export const list_sequences = defineTool({
  name: 'list_sequences',
  title: 'List sequences',
  description: 'Sequences with last number and next formatted id.',
  input: z.strictObject({ after: SEQUENCE.optional() }),
  annotations: { readOnlyHint: true },
  handler: async ({ trx, ctx }, args) => {
    const rows = await listSequences(trx, ctx.projectId, {
      after: args.after,
      limit: LIST_LIMIT + 1,
    });
    const page = rows.slice(0, LIST_LIMIT);
    return {
      sequences: page.map((s) => ({
        ...sequenceView(s),
        last_claim:
          s.last_claim_number === null
            ? null
            : {
                number: Number(s.last_claim_number),
                formatted: s.last_claim_formatted,
                by: s.last_claim_by,
                at: s.last_claim_at?.toISOString() ?? null,
              },
      })),
      has_more: rows.length > LIST_LIMIT,
    };
  },
});
