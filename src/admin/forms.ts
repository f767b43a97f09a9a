import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import type { Config } from '../config.js';
import { invalid } from '../errors.js';
import { BodyTooLarge, readBody } from '../http/request.js';
import { line } from '../names.js';

// Reading the admin's forms: urlencoded bodies with a small limit, one value per field, validated
// with zod into typed values, and the two checks every form post passes first: it comes from our
// own origin, and it carries the session's CSRF token.

// A post's body is up to 16,000 characters, which percent-encoded can take 12 bytes each.
const FORM_LIMIT = 256 * 1024;

export async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const type = (req.headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw invalid('send the form as application/x-www-form-urlencoded');
  }
  try {
    return new URLSearchParams((await readBody(req, FORM_LIMIT)).toString('utf8'));
  } catch (err) {
    if (err instanceof BodyTooLarge) throw invalid('the form is larger than 256 KiB');
    throw err;
  }
}

/**
 * A form post must come from a page of ours: its Origin (or, from browsers that omit it, its
 * Referer) must be PUBLIC_URL's origin. A request with neither is refused too.
 */
export function sameOrigin(req: IncomingMessage, config: Readonly<Config>): boolean {
  const own = new URL(config.publicUrl).origin;
  const origin = req.headers.origin;
  if (typeof origin === 'string') return origin === own;
  const referer = req.headers.referer;
  if (typeof referer !== 'string') return false;
  try {
    return new URL(referer).origin === own;
  } catch {
    return false;
  }
}

/** Parses a form into the schema's shape; the message names each field that is wrong. */
export function fields<S extends z.ZodType>(
  schema: S,
  form: URLSearchParams,
  labels: Record<string, string> = {},
): z.output<S> {
  const values: Record<string, string> = {};
  for (const [key, value] of form) {
    if (key === '_csrf') continue;
    if (key in values) throw invalid(`the form sent "${key.slice(0, 40)}" twice`);
    values[key] = value;
  }
  const r = schema.safeParse(values);
  if (r.success) return r.data;
  throw invalid(
    r.error.issues
      .map((i) => {
        const key = String(i.path[0] ?? 'form');
        return `${labels[key] ?? key}: ${i.message}`;
      })
      .join('; '),
  );
}

/** An empty text box means "not given". */
export const optional = <T extends z.ZodType>(schema: T) =>
  z.preprocess((v) => (v === '' ? undefined : v), schema.optional());

export const checkbox = z
  .enum(['on', 'true'])
  .optional()
  .transform((v) => v !== undefined);

export const whole = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d{1,9}$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

export const KIND = z.enum(['agent', 'human'], 'choose agent or human');

/** A project's display name: free text on one line, up to 200 characters (spec §8). */
export const PROJECT_NAME = line(200).refine((s) => s.trim() === s, {
  message: 'must not start or end with spaces',
});
