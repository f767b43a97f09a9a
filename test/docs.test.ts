import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_VARIABLES } from '../src/config.js';
import { VERBS } from '../src/cli/verbs.js';
import { ROOT } from './helpers/process.js';

const read = (file: string) => fs.readFileSync(`${ROOT}${file}`, 'utf8');
const verbs = new Set(VERBS.map((v) => v.name));
// Variables the deployment files may set that belong to the runtime, not to Baton.
const FOREIGN = new Set(['NODE_ENV', 'POSTGRES_USER', 'POSTGRES_PASSWORD', 'POSTGRES_DB']);

describe('SELFHOSTING.md', () => {
  it('documents exactly the configuration variables the code reads', () => {
    const documented = [...read('SELFHOSTING.md').matchAll(/^\| `([A-Z_]+)` +\|/gm)].map(
      (m) => m[1],
    );
    expect(new Set(documented)).toEqual(new Set(CONFIG_VARIABLES));
    expect(documented).toHaveLength(CONFIG_VARIABLES.length); // each once
  });
});

describe('deployment files', () => {
  it('the systemd unit runs only existing verbs and sets only known variables', () => {
    const unit = read('deploy/baton.service');
    const commands = [...unit.matchAll(/^Exec\w*=.*dist\/cli\/index\.js (\S+)/gm)].map((m) => m[1]);
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) expect(verbs, c).toContain(c);
    const vars = [...unit.matchAll(/^Environment=([A-Z_]+)=/gm)].map((m) => m[1] as string);
    for (const v of vars) expect(FOREIGN.has(v) || CONFIG_VARIABLES.includes(v), v).toBe(true);
  });

  it('compose and the Dockerfile run only existing verbs and set only known variables', () => {
    const compose = read('compose.yml');
    const commands = [...compose.matchAll(/command: \['([a-z-]+)'/g)].map((m) => m[1]);
    expect(commands).toEqual(['migrate', 'serve']);
    for (const c of commands) expect(verbs).toContain(c);
    const envBlocks = [...compose.matchAll(/^ {6}([A-Z_]+): /gm)].map((m) => m[1] as string);
    expect(envBlocks.length).toBeGreaterThan(0);
    for (const v of envBlocks) expect(FOREIGN.has(v) || CONFIG_VARIABLES.includes(v), v).toBe(true);
    const docker = read('Dockerfile');
    expect(docker).toMatch(/CMD \["serve"\]/);
    expect(docker).toMatch(/^USER node$/m);
    for (const m of docker.matchAll(/^ENV ((?:[A-Z_]+=\S+\s*\\?\s*)+)/gm)) {
      for (const v of (m[1] as string).matchAll(/([A-Z_]+)=/g)) {
        expect(FOREIGN.has(v[1] as string) || CONFIG_VARIABLES.includes(v[1] as string), v[1]).toBe(
          true,
        );
      }
    }
  });
});

describe('docs/tools.md', () => {
  it('is exactly what the catalogue generates (run `npm run docs:tools` after changing a tool)', async () => {
    const { renderToolsDoc } = await import('../scripts/tools-doc.js');
    expect(read('docs/tools.md')).toBe(renderToolsDoc());
  });
});

describe('src/bridge/catalogue.json', () => {
  it('is exactly what the catalogue generates (run `npm run docs:tools` after changing a tool)', async () => {
    const { renderBridgeCatalogue } = await import('../scripts/tools-doc.js');
    expect(read('src/bridge/catalogue.json')).toBe(renderBridgeCatalogue());
  });
});
