import fc from 'fast-check';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { getCatalogue } from '../src/main.js';
import { callApi } from './helpers/agents.js';
import { call, useTestBaton } from './helpers/baton.js';
import { POISONS, type JsonSchema } from './helpers/schema-args.js';

// Every string field of every tool, over REST and over MCP, with a lone surrogate or a control
// character inside an otherwise well-formed call: the answer is a result or a clear domain error
// (invalid_argument for text that cannot be stored), never `internal`, never a 5xx. Built from the
// catalogue, so a new tool or field is covered the moment it exists.

const baton = useTestBaton({ env: { BATON_RATE_LIMIT: '0' } });
// The full schema of each tool's input (the advertised one leaves patterns out), so that the
// fields not under test get values that pass validation and the poisoned one reaches the database.
const tools = [...getCatalogue().byName.values()].map((t) => ({
  name: t.name,
  inputSchema: z.toJSONSchema(t.input, { io: 'input', unrepresentable: 'any' }) as JsonSchema,
}));

/** A value the field accepts, so that only the poisoned field is wrong. */
function baseline(name: string, s: JsonSchema, actor: string): unknown {
  if (s.enum) return s.enum[0];
  if (s.anyOf) return baseline(name, s.anyOf[0] as JsonSchema, actor);
  switch (s.type) {
    case 'integer':
    case 'number':
      return s.minimum !== undefined && s.minimum > 0 ? s.minimum : 1;
    case 'boolean':
      return false;
    case 'array':
      return [baseline(name, s.items ?? {}, actor)];
    case 'object':
      return { kty: 'OKP' };
    case 'string': {
      const known: Record<string, string> = {
        to_actor: actor,
        owner: actor,
        actor,
        surface: 'src/poison.ts',
        lane: 'docs',
        to_lane: 'docs',
        paths: 'src/poison.ts',
      };
      if (known[name] !== undefined) return known[name];
      if (s.pattern) {
        const [sample] = fc.sample(fc.stringMatching(new RegExp(s.pattern)), {
          numRuns: 1,
          seed: 7,
        });
        return sample;
      }
      return 'plain text';
    }
    default:
      return 'x';
  }
}

/** Rules a JSON Schema cannot say (exactly one of to_actor, to_lane, broadcast). */
const EXTRA: Record<string, Record<string, unknown>> = { post: { broadcast: true } };

/** One call per string field and poison: that field poisoned, every other field well-formed. */
function poisonedCalls(tool: string, schema: JsonSchema, actor: string): Record<string, unknown>[] {
  const props = Object.entries(schema.properties ?? {});
  // Only the required fields besides the one under test: optional ones would bring their own
  // refusals (a dependency that does not exist) before the poisoned text reached the database.
  const required = new Set(schema.required ?? []);
  const base = {
    ...EXTRA[tool],
    ...Object.fromEntries(
      props.filter(([n]) => required.has(n)).map(([n, s]) => [n, baseline(n, s, actor)]),
    ),
  };
  const calls: Record<string, unknown>[] = [];
  for (const [name, s] of props) {
    const stringy = s.type === 'string' || s.items?.type === 'string' || s.type === 'object';
    if (!stringy) continue;
    for (const poison of POISONS) {
      const value = `a${poison}b`;
      const v = s.type === 'array' ? [value] : s.type === 'object' ? { kty: value } : value;
      const args: Record<string, unknown> = { ...base, [name]: v };
      // The poisoned field replaces the way of addressing it competes with.
      if (tool === 'post' && (name === 'to_actor' || name === 'to_lane')) delete args.broadcast;
      calls.push(args);
    }
  }
  return calls;
}

describe('lone surrogates and control characters in every string field', () => {
  it.each(tools.map((t) => [t.name, t.inputSchema] as const))(
    '%s answers them without internal, over REST and MCP',
    { timeout: 120_000 },
    async (name, schema) => {
      const poisoner = (i: number) =>
        baton.seed({
          projectSlug: `poison-${name.replace(/_/g, '-')}`,
          label: `poisoner-${i}`,
          admin: true,
        });
      let seeded = await poisoner(0);
      let client = await baton.connect(seeded.token, { push: false });
      const calls = poisonedCalls(name, schema, seeded.actor);
      for (const [i, args] of calls.entries()) {
        const res = await fetch(`${baton.baseUrl}/api/v1/tools/${name}`, {
          method: 'POST',
          headers: { authorization: `Bearer ${seeded.token}`, 'content-type': 'application/json' },
          body: JSON.stringify(args),
        });
        const text = await res.text();
        if (res.status === 401) {
          // It rotated or revoked its own token: the remaining cases run as a new poisoner.
          seeded = await poisoner(i + 1);
          client = await baton.connect(seeded.token, { push: false });
          continue;
        }
        expect(res.status, `${JSON.stringify(args)} → ${text}`).toBeLessThan(500);
        expect(text).not.toMatch(/"internal"/);
        const viaMcp = await call(client, name, args).catch((err: Error) => ({
          threw: err.message,
        }));
        expect(JSON.stringify(viaMcp), JSON.stringify(args)).not.toMatch(/"internal"|threw/);
      }
    },
  );
});

describe('the text rules themselves', () => {
  it('refuses a lone surrogate anywhere, and control characters in single-line fields', async () => {
    const s = await baton.seed({ projectSlug: 'text-rules', label: 'writer' });
    const api = (name: string, args: Record<string, unknown>) =>
      callApi(baton, s.token, name, args);
    for (const [name, args, field] of [
      ['register', { lane: 'docs', status: 'a\ud800b' }, 'status'],
      ['post', { broadcast: true, body: 'hi', subject: 'x\udc00' }, 'subject'],
      ['claim', { sequence: 'adr', note: 'n\ud800' }, 'note'],
      ['claim', { sequence: 'adr', ref: 'PR-1\u001b[2J' }, 'ref'],
      ['task_create', { title: 'line\nbreak' }, 'title'],
      ['post', { broadcast: true, body: 'ok', tag: 'bell\u0007' }, 'tag'],
    ] as const) {
      const r = await api(name, args);
      expect(r.status, JSON.stringify(r.body)).toBe(400);
      expect(r.body.error.code).toBe('invalid_argument');
      expect(r.body.error.fields.map((f: { field: string }) => f.field)).toEqual([field]);
    }
    // Multi-line text keeps its line breaks; a well-formed pair (an emoji) is fine anywhere.
    expect(
      (await api('post', { broadcast: true, body: 'two\nlines 😀', subject: '😀' })).status,
    ).toBe(200);
    expect((await api('claim', { sequence: 'adr' })).body.number).toBe(1);
  });
});
