// docs/tools.md is generated from the tool catalogue: `npm run docs:tools` writes it, and a test
// fails when it drifts from the code, so the reference never lies. The same run writes what the
// stdio bridge serves before it reaches a server (src/bridge/catalogue.json: the tool lists and
// the instructions), so that `baton connect` need not load the tools, and the server, to know it.

import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCatalogue } from '../src/mcp/catalogue.js';
import { INSTRUCTIONS } from '../src/mcp/instructions.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS_DOC = path.join(ROOT, 'docs', 'tools.md');
export const BRIDGE_CATALOGUE = path.join(ROOT, 'src', 'bridge', 'catalogue.json');

interface Schema {
  type?: string;
  enum?: unknown[];
  items?: Schema;
  anyOf?: Schema[];
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  pattern?: string;
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
}

function typeOf(s: Schema): string {
  if (s.enum) return s.enum.map((e) => `\`${String(e)}\``).join(' \\| ');
  if (s.anyOf) return s.anyOf.map(typeOf).join(' or ');
  if (s.type === 'array' && s.items) return `array of ${typeOf(s.items)}`;
  return s.type ?? 'any';
}

function limitsOf(s: Schema): string {
  const out: string[] = [];
  const len = (min?: number, max?: number, unit = 'chars') =>
    min !== undefined && max !== undefined
      ? `${min}–${max} ${unit}`
      : max !== undefined
        ? `≤ ${max} ${unit}`
        : `≥ ${min} ${unit}`;
  if (s.minLength !== undefined || s.maxLength !== undefined)
    out.push(len(s.minLength, s.maxLength));
  if (s.minimum !== undefined || s.maximum !== undefined) {
    out.push(
      s.maximum === undefined
        ? `≥ ${s.minimum}`
        : s.minimum === undefined
          ? `≤ ${s.maximum}`
          : `${s.minimum}–${s.maximum}`,
    );
  }
  if (s.maxItems !== undefined) out.push(`≤ ${s.maxItems} items`);
  if (s.pattern) out.push(`\`${s.pattern.replace(/\|/g, '\\|')}\``);
  if (s.items) {
    const inner = limitsOf(s.items);
    if (inner) out.push(`each ${inner}`);
  }
  if (s.description) out.push(s.description);
  return out.join('; ');
}

function hints(a: {
  readOnlyHint: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
}): string {
  if (a.readOnlyHint) return 'read-only';
  return [
    a.destructiveHint === false ? 'writes, not destructive' : 'writes, destructive',
    a.idempotentHint ? 'idempotent' : '',
  ]
    .filter(Boolean)
    .join(', ');
}

export function renderToolsDoc(): string {
  const catalogue = buildCatalogue();
  const tools = (
    JSON.parse(catalogue.listJson.full) as {
      tools: {
        name: string;
        description: string;
        inputSchema: Schema;
        annotations: Record<string, boolean>;
      }[];
    }
  ).tools;
  const lines = [
    '# Tools',
    '',
    '<!-- Generated from the tool catalogue by `npm run docs:tools`; do not edit by hand. -->',
    '',
    `Baton serves ${tools.length} tools over MCP at \`/mcp\` and as plain JSON at \`POST /api/v1/tools/<name>\`.`,
    'The core profile (`/mcp?tools=core`) serves the ones marked *core*. Admin-only tools answer',
    '`forbidden` to everyone else. Errors carry one of the codes `invalid_argument`, `not_found`,',
    '`conflict`, `forbidden`, `lease_held`, `rate_limited`, `unavailable`, `internal`.',
    '',
    `Catalogue size (compact JSON): full ${catalogue.listJson.full.length} bytes, core ${catalogue.listJson.core.length} bytes.`,
    '',
  ];
  for (const t of tools) {
    const def = catalogue.byName.get(t.name);
    const tags = [
      def ? hints(def.annotations) : '',
      def?.core ? 'core' : '',
      def?.admin ? 'admin only' : '',
    ].filter(Boolean);
    // tools/list leaves out a title that only spells out the name; the reference shows it.
    const title = def?.title ?? t.name;
    lines.push(`## \`${t.name}\` — ${title}`, '', `*${tags.join(' · ')}*`, '', t.description, '');
    const props = Object.entries(t.inputSchema.properties ?? {});
    if (props.length === 0) {
      lines.push('No arguments.', '');
      continue;
    }
    const required = new Set(t.inputSchema.required ?? []);
    lines.push('| argument | type | required | limits |', '|---|---|---|---|');
    for (const [name, s] of props) {
      lines.push(
        `| \`${name}\` | ${typeOf(s)} | ${required.has(name) ? 'yes' : 'no'} | ${limitsOf(s)} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * The stdio bridge's fallback: the 2025-era instructions, the full tools/list, and the names in
 * the core profile.
 */
export function renderBridgeCatalogue(): string {
  const catalogue = buildCatalogue();
  const list = (profile: 'full' | 'core') =>
    (JSON.parse(catalogue.listJson[profile]) as { tools: { name: string }[] }).tools;
  const fallback = {
    $comment: 'Generated from the tool catalogue by `npm run docs:tools`; do not edit by hand.',
    instructions: INSTRUCTIONS,
    core: list('core').map((t) => t.name),
    tools: list('full'),
  };
  return `${JSON.stringify(fallback, null, 2)}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  for (const [file, text] of [
    [TOOLS_DOC, renderToolsDoc()],
    [BRIDGE_CATALOGUE, renderBridgeCatalogue()],
  ] as const) {
    await fs.writeFile(file, text);
    process.stdout.write(`wrote ${path.relative(ROOT, file)}\n`);
  }
}
