import { z } from 'zod';

// The shapes of names (spec §8), shared by tools, the CLI and the admin pages.

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** In unicode mode a surrogate pair is one code point, so this matches lone surrogates only. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Text PostgreSQL can store and JSON can carry: no lone UTF-16 surrogate (JSON would escape it,
 * and PostgreSQL's jsonb refuses the escape). Every text input of every tool is checked. */
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);
const WELL_FORMED_RULE = 'must be valid Unicode text (it has a lone UTF-16 surrogate)';

/** A string of at most `max` characters, well-formed (see wellFormed), for shapes checked elsewhere. */
export function bounded(max: number, message = `must be at most ${max} characters`) {
  return z.string().max(max, message).refine(wellFormed, { message: WELL_FORMED_RULE });
}

export const HANDLE = z
  .string()
  .regex(/^[a-z0-9-]{2,32}$/, 'a handle is 2–32 characters of a-z, 0-9 and -');
export const SLUG = z
  .string()
  .regex(/^[a-z0-9-]{1,64}$/, 'a slug is 1–64 characters of a-z, 0-9 and -');
export const LANE = z
  .string()
  .regex(/^[a-z0-9._-]{1,64}$/, 'a lane is 1–64 characters of a-z, 0-9, ".", "_" and "-"');
export const LABEL = z
  .string()
  .min(1, 'a label needs at least 1 character')
  .max(64, 'a label is at most 64 characters')
  .refine((s) => !s.includes('/') && !CONTROL.test(s) && s.trim() === s && wellFormed(s), {
    message: 'a label is printable characters without "/" and without leading or trailing spaces',
  });
export const EMAIL = z
  .string()
  .trim()
  .max(254, 'an email is at most 254 characters')
  .regex(/^[^\s@]+@[^\s@]+$/, 'not an email address');

/** Free text of bounded length that PostgreSQL can store: no NUL, no lone surrogate. */
export function text(max: number, min = 0) {
  // No `.min(0)`: it adds `"minLength":0` to every tools/list schema and checks nothing.
  const base =
    min > 0
      ? z.string().min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
      : z.string();
  return base
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !s.includes('\u0000'), { message: 'must not contain NUL characters' })
    .refine(wellFormed, { message: WELL_FORMED_RULE });
}

/** One line of bounded text: no control characters, so no NUL and no line breaks. */
export function line(max: number, min = 1) {
  return z
    .string()
    .min(min, min === 1 ? 'must not be empty' : `must be at least ${min} characters`)
    .max(max, `must be at most ${max} characters`)
    .refine((s) => !CONTROL.test(s), {
      message: 'must be one line without control characters (NUL, line breaks, tabs)',
    })
    .refine(wellFormed, { message: WELL_FORMED_RULE });
}

/** `handle/label`: how a participant is named everywhere (spec §1). */
export const ACTOR = z
  .string()
  .max(97, 'an actor is at most 97 characters (handle/label)')
  .refine(
    (s) => {
      const slash = s.indexOf('/');
      return (
        slash > 0 &&
        HANDLE.safeParse(s.slice(0, slash)).success &&
        LABEL.safeParse(s.slice(slash + 1)).success
      );
    },
    { message: 'an actor is handle/label, e.g. ana/claude-2 (see list_participants)' },
  );

/**
 * An actor as filters take it: `handle/label`, or a bare handle for the person themselves (their
 * web and command-line acts are recorded under it). Whether a bare name really is a handle here
 * is for the tool to check (a bare label is the usual mistake).
 */
export const ACTOR_OR_HANDLE = z
  .string()
  .max(97, 'an actor is at most 97 characters (handle/label)')
  .refine((s) => ACTOR.safeParse(s).success || HANDLE.safeParse(s).success, {
    message: 'an actor is handle/label, e.g. ana/claude-2, or a bare handle for the person',
  });

/** Ids of rows: positive integers. */
export const ID = z
  .number('must be a positive integer id')
  .int('must be a positive integer id')
  .min(1, 'must be a positive integer id')
  .max(Number.MAX_SAFE_INTEGER, 'must be a positive integer id');

/** What is wrong with a JSON value PostgreSQL's jsonb must store, or undefined when nothing is. */
function jsonProblem(value: unknown, depth: number): string | undefined {
  if (depth > 16) return 'is nested more than 16 levels deep';
  if (value === null || typeof value === 'boolean') return undefined;
  if (typeof value === 'number')
    return Number.isFinite(value) ? undefined : 'has a non-finite number';
  if (typeof value === 'string') {
    // jsonb refuses \u0000 in strings, and JSON cannot carry a lone surrogate faithfully.
    if (value.includes('\u0000')) return 'has a NUL character in a string';
    return wellFormed(value) ? undefined : WELL_FORMED_RULE;
  }
  const entries = Array.isArray(value)
    ? value.map((v) => ['', v] as const)
    : typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype
      ? Object.entries(value)
      : undefined;
  if (!entries) return 'must hold only JSON values';
  for (const [k, v] of entries) {
    const problem = jsonProblem(k, depth) ?? jsonProblem(v, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** A JSON object of at most `maxBytes` as compact JSON, storable as jsonb. */
export function jsonObject(maxBytes: number) {
  return z.record(z.string(), z.unknown(), 'must be a JSON object').superRefine((value, ctx) => {
    const problem = jsonProblem(value, 0);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
    else if (Buffer.byteLength(JSON.stringify(value)) > maxBytes) {
      ctx.addIssue({ code: 'custom', message: `must be at most ${maxBytes} bytes as JSON` });
    }
  });
}
