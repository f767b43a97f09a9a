import { z } from 'zod';
import { TOOLS } from '../tools/index.js';
import type { ToolDef } from '../tools/types.js';

// The tool catalogue and its tools/list JSON, built once per process (spec §12): no per-session
// or per-request work beyond splicing the prebuilt text into a response.

export type Profile = 'full' | 'core';

export interface Catalogue {
  byName: ReadonlyMap<string, ToolDef>;
  /** `{"tools":[…]}` as compact JSON, per profile. */
  listJson: Readonly<Record<Profile, string>>;
  inProfile(profile: Profile, name: string): boolean;
}

/**
 * tools/list is paid for in every session's context (spec §12: the full catalogue within 12 KB,
 * the core profile within 5 KB), so the advertised schema drops what tells the model little: the
 * $schema tag, `additionalProperties: false`, regex patterns of names (descriptions and errors
 * give the shape), minimums of 0 or 1 (of lengths and item counts too), maximums that only mean
 * "very large", length limits of one-line values (names, refs, tags), which no sensible value
 * reaches, and what JSON says anyway (an empty `properties`, object keys that are strings). Limits on free text
 * and real ranges (page sizes, TTLs) stay visible. Validation is unchanged: the zod schema still
 * enforces all of it, its errors say which argument broke which limit, and unknown arguments are
 * refused with the allowed ones named.
 */
function compact(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compact);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!advertised(key, value)) continue;
    out[key] = compact(value);
  }
  return out;
}

function advertised(key: string, value: unknown): boolean {
  switch (key) {
    case '$schema':
    case 'additionalProperties':
    case 'propertyNames': // JSON object keys are strings anyway
    case 'pattern':
      return false;
    case 'minLength':
    case 'minItems':
      return value !== 0 && value !== 1;
    case 'properties':
      return typeof value !== 'object' || value === null || Object.keys(value).length > 0;
    case 'maxLength':
      return typeof value === 'number' && value >= 1000;
    case 'minimum':
      return value !== 0 && value !== 1 && value !== -Number.MAX_SAFE_INTEGER;
    case 'maximum':
      return typeof value === 'number' && value < 2 ** 31 - 1;
    default:
      return true;
  }
}

/** Only hints that differ from MCP's defaults (readOnly false, destructive true, idempotent false). */
function compactAnnotations(a: ToolDef['annotations']): Record<string, boolean> {
  if (a.readOnlyHint) return { readOnlyHint: true };
  const out: Record<string, boolean> = {};
  if (a.destructiveHint === false) out.destructiveHint = false;
  if (a.idempotentHint === true) out.idempotentHint = true;
  return out;
}

/** The name as a title would read it: `who_holds` → `Who holds`. */
const spelledOut = (name: string) =>
  name.charAt(0).toUpperCase() + name.slice(1).replace(/_/g, ' ');

function describe(tool: ToolDef) {
  const annotations = compactAnnotations(tool.annotations);
  const schema = compact(
    z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }),
  ) as Record<string, unknown>;
  return {
    name: tool.name,
    // A title that only spells out the name tells a client nothing it would not show anyway
    // (MCP: without a title, the name is displayed).
    ...(tool.title !== spelledOut(tool.name) ? { title: tool.title } : {}),
    description: tool.description,
    inputSchema: schema,
    ...(Object.keys(annotations).length ? { annotations } : {}),
  };
}

export function buildCatalogue(tools: readonly ToolDef[] = TOOLS): Catalogue {
  const byName = new Map<string, ToolDef>();
  for (const t of tools) {
    if (byName.has(t.name)) throw new Error(`duplicate tool name ${t.name}`);
    if (!/^[a-z][a-z0-9_]*$/.test(t.name)) throw new Error(`tool name ${t.name} is not snake_case`);
    byName.set(t.name, t);
  }
  const described = tools.map(describe);
  return {
    byName,
    listJson: {
      full: JSON.stringify({ tools: described }),
      core: JSON.stringify({ tools: described.filter((d) => byName.get(d.name)?.core) }),
    },
    inProfile: (profile, name) => profile === 'full' || byName.get(name)?.core === true,
  };
}
