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

function describe(tool: ToolDef) {
  const schema = z.toJSONSchema(tool.input, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  delete schema.$schema;
  return {
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: schema,
    annotations: tool.annotations,
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
