import { readFileSync } from 'node:fs';
import type { ListToolsResult } from '@modelcontextprotocol/sdk/types.js';

// What the bridge serves before (or without) a server: the instructions and tool list of this
// build, from catalogue.json, which `npm run docs:tools` generates from the tool catalogue (and
// a test keeps equal to it). Reading it costs a JSON parse; building it would load every tool.

interface Catalogue {
  instructions: string;
  core: string[];
  tools: ListToolsResult['tools'];
}

export function fallback(profile: 'full' | 'core'): {
  instructions: string;
  tools: ListToolsResult;
} {
  const c = JSON.parse(
    readFileSync(new URL('./catalogue.json', import.meta.url), 'utf8'),
  ) as Catalogue;
  const core = new Set(c.core);
  const tools = profile === 'core' ? c.tools.filter((t) => core.has(t.name)) : c.tools;
  return { instructions: c.instructions, tools: { tools } };
}
