import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The house's shape, checked by the build: no folder of src/ imports another in a circle, and
// ESLint refuses the imports AGENTS.md forbids. The graph is built from the sources themselves,
// so a new folder or file is covered without listing it here.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sourceFiles(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

/** A folder of src/, or for a module at the top of src/ the module itself. */
function nodeOf(file: string): string {
  const rel = path.relative(SRC, file);
  const [first, ...rest] = rel.split(path.sep);
  return rest.length > 0 ? `${first}/` : (first as string).replace(/\.(ts|js)$/, '');
}

const IMPORT = /(?:^|\n)\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

function folderGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = nodeOf(file);
    const edges = graph.get(from) ?? new Set<string>();
    graph.set(from, edges);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      const spec = m[1] ?? m[2];
      if (!spec?.startsWith('.')) continue;
      const to = nodeOf(path.resolve(path.dirname(file), spec));
      if (to !== from) edges.add(to);
    }
  }
  return graph;
}

function findCycle(graph: Map<string, Set<string>>): string[] | undefined {
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (n: string): string[] | undefined => {
    if (state.get(n) === 'done') return undefined;
    if (state.get(n) === 'open') return [...stack.slice(stack.indexOf(n)), n];
    state.set(n, 'open');
    stack.push(n);
    for (const next of graph.get(n) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(n, 'done');
    return undefined;
  };
  for (const n of graph.keys()) {
    const cycle = visit(n);
    if (cycle) return cycle;
  }
  return undefined;
}

describe('the folder graph of src/', () => {
  it('has no cycle', () => {
    const graph = folderGraph();
    expect(graph.size).toBeGreaterThan(10);
    expect(findCycle(graph)).toBeUndefined();
  });

  it('the cycle finder finds a cycle when there is one', () => {
    const graph = folderGraph();
    // What the tree looked like before the route table moved above http/: http ↔ mcp.
    graph.get('http/')?.add('mcp/');
    expect(findCycle(graph)).toEqual(expect.arrayContaining(['http/', 'mcp/']));
  });
});

describe('ESLint enforces the boundaries', () => {
  const eslint = new ESLint({ cwd: ROOT });
  const problems = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
    return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
  };

  it.each([
    ['src/db/fixture.ts', "import { TOOLS } from '../tools/index.js';\nexport const x = TOOLS;\n"],
    ['src/db/fixture.ts', "import { x } from '../mcp/catalogue.js';\nexport const y = x;\n"],
    ['src/db/fixture.ts', "import { x } from '../http/request.js';\nexport const y = x;\n"],
    ['src/db/fixture.ts', "import { x } from '../admin/html.js';\nexport const y = x;\n"],
    ['src/http/fixture.ts', "import { sql } from 'kysely';\nexport const y = sql;\n"],
    ['src/tools/fixture.ts', "import pg from 'pg';\nexport const y = pg;\n"],
    [
      'src/tools/fixture.ts',
      "import { z } from '@modelcontextprotocol/sdk/types.js';\nexport const y = z;\n",
    ],
    ['src/admin/fixture.ts', "import { x } from '../mcp/transport.js';\nexport const y = x;\n"],
    ['src/http/fixture.ts', "import { x } from '../mcp/push.js';\nexport const y = x;\n"],
    ['src/leases/fixture.ts', "import { x } from '../tools/types.js';\nexport const y = x;\n"],
    ['src/bridge/fixture.ts', "import { x } from '../db/pool.js';\nexport const y = x;\n"],
    ['src/bridge/fixture.ts', "import { x } from '../mcp/catalogue.js';\nexport const y = x;\n"],
    ['src/bridge/fixture.ts', "import { x } from '../config.js';\nexport const y = x;\n"],
    ['src/bridge/fixture.ts', "import { z } from 'zod';\nexport const y = z;\n"],
    ['src/config.ts', "import { x } from './db/pool.js';\nexport const y = x;\n"],
    ['src/tools/fixture.ts', 'export const home = process.env.HOME;\n'],
  ])('refuses %s: %s', async (file, code) => {
    const found = await problems(file, code);
    expect(found.join('\n')).toMatch(/no-restricted-(imports|properties)/);
  });

  it.each([
    ['src/tools/fixture.ts', "import { sql } from '../db/ledger.js';\nexport const y = sql;\n"],
    [
      'src/mcp/fixture.ts',
      "import { x } from '@modelcontextprotocol/sdk/types.js';\nexport const y = x;\n",
    ],
    ['src/db/fixture.ts', "import { sql } from 'kysely';\nexport const y = sql;\n"],
    ['src/bridge/fixture.ts', "import { x } from '../mcp/protocol.js';\nexport const y = x;\n"],
    ['src/bridge/fixture.ts', "import { x } from 'eventsource-parser';\nexport const y = x;\n"],
    ['src/config.ts', 'export const home = process.env.HOME;\n'],
  ])('allows %s: %s', async (file, code) => {
    expect(await problems(file, code)).toEqual([]);
  });
});
