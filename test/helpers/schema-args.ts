import fc from 'fast-check';

// Arguments for any tool, derived from its advertised JSON Schema, so the fuzz and isolation
// suites cover a new tool the moment it joins the catalogue.

export interface JsonSchema {
  type?: string;
  enum?: unknown[];
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  pattern?: string;
}

const HOSTILE_STRINGS = [
  '',
  ' ',
  '\u0000',
  'nul\u0000inside',
  'x'.repeat(17_000),
  "'; drop table events; --",
  '../../etc/passwd',
  '/absolute/path',
  'lane:',
  'a/b/c',
  '\ud800',
  'tail\udc00',
  '\udbff\udbff',
  '😀'.repeat(40),
  '<script>alert(1)</script>',
  '%00',
  '\r\n\t',
  'ADR-0042',
];

const HOSTILE_NUMBERS = [
  0,
  -1,
  1.5,
  -0.5,
  2 ** 53,
  2 ** 64,
  -(2 ** 63),
  1e308,
  -1e308,
  5e-324,
  Number.MAX_SAFE_INTEGER + 2,
];

/** A value nested `depth` levels deep, alternating arrays and objects. */
function deep(depth: number): unknown {
  let v: unknown = 'bottom';
  for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { d: v };
  return v;
}

function hostile(): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom<unknown>(
      ...HOSTILE_STRINGS,
      ...HOSTILE_NUMBERS,
      null,
      true,
      [],
      {},
      [1, 'a'],
      deep(64),
      deep(400),
    ),
    fc.string({ unit: 'binary', maxLength: 30 }), // lone surrogates and every code point
    fc.object({ maxDepth: 4 }),
    fc.string({ maxLength: 80 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.jsonValue({ maxDepth: 2 }),
  );
}

/** Characters that have ended in `internal` before: lone surrogates, escapes, control codes. */
export const POISONS = [
  '\ud800',
  '\udfff',
  '\u001b[31m',
  '\u0007',
  '\u009b',
  '\r\n',
  '\t',
  '\u0085',
];

/** Ordinary text with a poison inside it. */
function poisoned(minLength: number, maxLength: number): fc.Arbitrary<string> {
  return fc
    .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...POISONS), fc.string({ maxLength: 10 }))
    .map(([a, p, b]) => `${a}${p}${b}`.padEnd(minLength, 'x').slice(0, Math.max(maxLength, 1)));
}

function plausible(s: JsonSchema): fc.Arbitrary<unknown> {
  if (s.enum) return fc.constantFrom(...s.enum);
  if (s.anyOf) return fc.oneof(...s.anyOf.map(plausible));
  switch (s.type) {
    case 'string': {
      const max = Math.min(s.maxLength ?? 40, 40);
      // Patterned strings mostly match their pattern, so the call gets past validation and the
      // other fields' values reach the database; free text is sometimes poisoned.
      const shaped = s.pattern
        ? fc.stringMatching(new RegExp(s.pattern)).filter((v) => v.length <= (s.maxLength ?? 1e9))
        : fc.string({ minLength: s.minLength ?? 0, maxLength: max });
      return fc.oneof(
        { arbitrary: shaped, weight: 3 },
        { arbitrary: poisoned(s.minLength ?? 0, max), weight: 1 },
      );
    }
    case 'integer':
      return fc.integer({
        min: s.minimum ?? -1000,
        max: Math.min(s.maximum ?? 1_000_000, 1_000_000),
      });
    case 'number':
      return fc.double({ noNaN: true, min: s.minimum, max: s.maximum });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(plausible(s.items ?? {}), { maxLength: 5 });
    case 'object':
      return fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), {
        maxKeys: 3,
      });
    default:
      return fc.jsonValue({ maxDepth: 1 });
  }
}

/** Argument objects: mostly well-shaped, often with hostile values, sometimes with stray keys. */
export function argsArbitrary(schema: JsonSchema): fc.Arbitrary<Record<string, unknown>> {
  const props = Object.entries(schema.properties ?? {});
  const fields = Object.fromEntries(
    props.map(([name, s]) => [
      name,
      fc.option(
        fc.oneof({ arbitrary: plausible(s), weight: 3 }, { arbitrary: hostile(), weight: 2 }),
        { nil: undefined, freq: 4 },
      ),
    ]),
  );
  return fc
    .tuple(
      fc.record(fields),
      fc.option(fc.dictionary(fc.string({ maxLength: 12 }), hostile(), { maxKeys: 2 }), {
        freq: 5,
      }),
    )
    .map(([r, extra]) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) if (v !== undefined) out[k] = v;
      return extra ? { ...out, ...extra } : out;
    });
}

/**
 * Argument variants that aim one tool at someone else's objects: every property is filled with
 * each foreign value of a fitting type (ids for integers, names for strings).
 */
export function foreignArgs(
  schema: JsonSchema,
  foreign: { ids: number[]; names: string[] },
): Record<string, unknown>[] {
  const props = Object.entries(schema.properties ?? {});
  const variants: Record<string, unknown>[] = [];
  const candidates = (s: JsonSchema): unknown[] => {
    if (s.enum) return s.enum.slice(0, 1);
    if (s.type === 'integer' || s.type === 'number') return foreign.ids;
    if (s.type === 'string') return foreign.names;
    if (s.type === 'array') return candidates(s.items ?? {}).map((v) => [v]);
    if (s.type === 'boolean') return [true];
    return [];
  };
  const longest = Math.max(1, ...props.map(([, s]) => candidates(s).length));
  for (let i = 0; i < longest; i++) {
    const args: Record<string, unknown> = {};
    for (const [name, s] of props) {
      const c = candidates(s);
      if (c.length) args[name] = c[i % c.length];
    }
    variants.push(args);
  }
  // Then one property at a time beside the required ones (its first few foreign values, every
  // value of an enum), so a value that fails validation elsewhere (a name where a time goes)
  // cannot keep the rest from reaching the tool.
  const required = schema.required ?? [];
  const seen = new Set(variants.map((v) => JSON.stringify(v)));
  for (const [name, s] of props) {
    (s.enum ?? candidates(s).slice(0, 3)).forEach((value, i) => {
      const args: Record<string, unknown> = {};
      for (const r of required) {
        const c = candidates(schema.properties?.[r] ?? {});
        if (c.length) args[r] = c[i % c.length];
      }
      args[name] = value;
      const key = JSON.stringify(args);
      if (!seen.has(key)) {
        seen.add(key);
        variants.push(args);
      }
    });
  }
  return variants;
}
