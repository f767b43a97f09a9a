import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { afterAll, describe, expect, it } from 'vitest';
import { VERBS } from '../src/cli/verbs.js';
import { freePort } from '../src/db/embedded.js';
import { buildCatalogue } from '../src/mcp/catalogue.js';
import { INSTRUCTIONS } from '../src/mcp/instructions.js';
import { CLI, ROOT } from './helpers/process.js';

// `baton connect` runs on users' machines and must not carry the server: no module of src/db,
// neither kysely nor pg, no tools. Checked twice: in the sources (every import the command can
// reach, the verb table's lazy loaders aside, and the packages those depend on), and in the
// built command as it runs (every module Node resolves, recorded by a loader hook). (Run
// `npm run build` first when running this file alone.)

const SRC = path.join(ROOT, 'src');
const IMPORT =
  /(?:^|\n)\s*(import|export)\b(\s+type\b)?[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g;

/** Source files and packages reachable from the entries; type-only imports load nothing. */
function sourceClosure(entries: string[], lazyTable: string) {
  const files = new Set<string>();
  const packages = new Set<string>();
  const visit = (file: string) => {
    if (files.has(file)) return;
    files.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(IMPORT)) {
      if (m[2]) continue; // import type / export type
      const dynamic = m[4] !== undefined;
      // The verb table's loaders are what make the verbs lazy: only the entries are followed.
      if (dynamic && file === lazyTable) continue;
      const spec = (m[3] ?? m[4]) as string;
      if (spec.startsWith('.'))
        visit(path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts'));
      else if (!spec.startsWith('node:')) packages.add(packageName(spec));
    }
  };
  for (const e of entries) visit(e);
  return { files: [...files].map((f) => path.relative(SRC, f)).sort(), packages };
}

const packageName = (spec: string) =>
  spec
    .split('/')
    .slice(0, spec.startsWith('@') ? 2 : 1)
    .join('/');

/** Every package the given ones depend on, as installed (nested copies included). */
function packageClosure(roots: Iterable<string>): Set<string> {
  const seen = new Set<string>();
  const visit = (name: string, from: string) => {
    let dir = from;
    let manifest: string | undefined;
    for (;;) {
      const candidate = path.join(dir, 'node_modules', name, 'package.json');
      if (existsSync(candidate)) {
        manifest = candidate;
        break;
      }
      if (dir === ROOT || dir === path.dirname(dir)) break;
      dir = path.dirname(dir);
    }
    if (!manifest) return; // an optional dependency not installed here
    const key = path.relative(ROOT, manifest);
    if (seen.has(key)) return;
    seen.add(key);
    const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      visit(dep, path.dirname(manifest));
    }
  };
  for (const r of roots) visit(r, ROOT);
  return new Set([...seen].map((k) => packageName(k.split('node_modules/').at(-1) as string)));
}

describe("the bridge's import closure, from the sources", () => {
  const { files, packages } = sourceClosure(
    [path.join(SRC, 'cli/index.ts'), path.join(SRC, 'cli/connect.ts')],
    path.join(SRC, 'cli/verbs.ts'),
  );

  it('reaches no module of the server: no src/db, tools, http or server assembly', () => {
    expect(files).toContain('bridge/stdio.ts');
    expect(files.filter((f) => f.startsWith('db/'))).toEqual([]);
    const server = files.filter((f) => /^(tools|http|access|auth|admin|api|leases)\//.test(f));
    expect(server).toEqual([]);
    expect(files.filter((f) => f.startsWith('mcp/'))).toEqual(['mcp/protocol.ts']);
    expect(files.filter((f) => f.startsWith('cli/'))).toEqual([
      'cli/common.ts',
      'cli/connect.ts',
      'cli/index.ts',
      'cli/verbs.ts',
    ]);
  });

  it('reaches neither kysely nor pg, directly or through a package', () => {
    expect([...packages].sort()).toEqual([
      '@modelcontextprotocol/sdk',
      'eventsource-parser',
      'pino',
      'zod',
    ]);
    const all = packageClosure(packages);
    expect(all.size).toBeGreaterThan(packages.size);
    expect([...all].filter((p) => p === 'kysely' || p === 'pg' || p.startsWith('pg-'))).toEqual([]);
  });

  it('finds the server when a path leads to it', () => {
    // What the bridge imported before it was made lean: the catalogue, for its fallback list.
    const before = sourceClosure([path.join(SRC, 'mcp/catalogue.ts')], '');
    expect(before.files.some((f) => f.startsWith('db/'))).toBe(true);
    expect(packageClosure(before.packages)).toContain('kysely');
  });
});

describe('what the built command loads as it runs', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'baton-modules-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  // A loader hook that writes down every module Node resolves.
  writeFileSync(
    path.join(dir, 'hooks.mjs'),
    [
      "import { appendFileSync } from 'node:fs';",
      'let file;',
      'export function initialize(data) { file = data.file; }',
      'export async function resolve(specifier, context, next) {',
      '  const resolved = await next(specifier, context);',
      "  appendFileSync(file, resolved.url + '\\n');",
      '  return resolved;',
      '}',
    ].join('\n'),
  );
  const record = (name: string) => {
    const log = path.join(dir, `${name}.log`);
    writeFileSync(
      path.join(dir, `${name}.mjs`),
      `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)}, import.meta.url, { data: { file: ${JSON.stringify(log)} } });\n`,
    );
    return {
      args: ['--import', pathToFileURL(path.join(dir, `${name}.mjs`)).href],
      loaded: () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .filter((u) => u.startsWith('file:'))
          .map((u) => path.relative(ROOT, new URL(u).pathname)),
    };
  };
  const ours = (loaded: string[]) =>
    [...new Set(loaded.filter((f) => f.startsWith('dist/')))].map((f) => f.slice(5)).sort();

  it('`baton connect` loads no server module, and serves this build’s catalogue before it reaches a server', async () => {
    const recorder = record('connect');
    const closed = await freePort(); // nothing listens there: the server is away
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: [...recorder.args, CLI, 'connect'],
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '/tmp',
        BATON_URL: `http://127.0.0.1:${closed}/mcp?tools=core`,
        BATON_TOKEN: 'baton_not-a-real-token',
      },
      cwd: ROOT,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'lean', version: '1' });
    await client.connect(transport);
    const core = JSON.parse(buildCatalogue().listJson.core) as { tools: unknown[] };
    expect(await client.listTools()).toEqual(core);
    expect(client.getInstructions()).toBe(INSTRUCTIONS);
    await client.close();

    const loaded = recorder.loaded();
    const dist = ours(loaded);
    expect(dist).toContain('bridge/stdio.js');
    expect(dist.filter((f) => !/^(bridge|cli)\/|^mcp\/protocol\.js$|^[a-z]+\.js$/.test(f))).toEqual(
      [],
    );
    expect(dist.filter((f) => f.startsWith('cli/'))).toEqual([
      'cli/common.js',
      'cli/connect.js',
      'cli/index.js',
      'cli/verbs.js',
    ]);
    expect(dist).not.toContain('server.js');
    const packages = loaded.filter((f) => /node_modules\/(kysely|pg|pg-[a-z-]+)\//.test(f));
    expect(packages).toEqual([]);
  });

  it('`baton --help` lists every verb without loading one', async () => {
    const recorder = record('help');
    const child = spawn(process.execPath, [...recorder.args, CLI, '--help'], { cwd: ROOT });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    expect(await new Promise((r) => child.on('exit', r))).toBe(0);
    for (const v of VERBS) expect(out).toMatch(`  ${v.name}`);
    expect(ours(recorder.loaded())).toEqual(
      expect.not.arrayContaining(['cli/serve.js', 'cli/connect.js', 'cli/kit.js', 'server.js']),
    );
    expect(ours(recorder.loaded()).filter((f) => f.startsWith('cli/'))).toEqual([
      'cli/common.js',
      'cli/index.js',
      'cli/verbs.js',
    ]);
  });
});

describe('the verb table', () => {
  it('lists each verb under the name its module has', async () => {
    for (const entry of VERBS) {
      const verb = await entry.load();
      expect(verb.name).toBe(entry.name);
    }
  });
});
