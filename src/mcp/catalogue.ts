import { z } from 'zod';
import { CORE_TOOL_NAMES, TOOLS } from '../tools/index.js';
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
 * Every byte of tools/list is paid for in the context of every session (spec §12 budgets the
 * catalogue), so the JSON Schema is trimmed of what says nothing: the $schema tag, zod's
 * safe-integer bounds, zero minimum lengths, and `additionalProperties` (unknown arguments are
 * still refused, with a message naming the allowed ones).
 */
function compactSchema(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(compactSchema);
  if (typeof node !== 'object' || node === null) return node;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'additionalProperties') continue;
    if (
      (key === 'maximum' || key === 'minimum') &&
      Math.abs(value as number) === Number.MAX_SAFE_INTEGER
    )
      continue;
    if (key === 'minLength' && value === 0) continue;
    out[key] = compactSchema(value);
  }
  return out;
}

/** Only hints that differ from MCP's defaults (readOnly false, destructive true, idempotent false). */
function compactAnnotations(a: ToolDef['annotations']): Record<string, boolean> {
  if (a.readOnlyHint) return { readOnlyHint: true };
  const out: Record<string, boolean> = {};
  if (a.destructiveHint === false) out.destructiveHint = false;
  if (a.idempotentHint === true) out.idempotentHint = true;
  return out;
}

function describe(tool: ToolDef) {
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: compactSchema(z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' })),
    annotations: compactAnnotations(tool.annotations),
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
      core: JSON.stringify({ tools: described.filter((d) => CORE_TOOL_NAMES.has(d.name)) }),
    },
    inProfile: (profile, name) => profile === 'full' || CORE_TOOL_NAMES.has(name),
  };
}
