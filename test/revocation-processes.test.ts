import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { openStorage, type Storage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { freshCall, metricValue } from './helpers/http.js';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { serveProcess, stopServeProcesses } from './helpers/process.js';
import { eventually } from './helpers/sse.js';

// Revocation through one process is refused at once there and soon by every other, although each
// resolves the tokens it confirmed lately from memory: real `baton serve` processes (the built
// dist/), two of them, then one with BATON_WORKERS=2, on a PostgreSQL of this file's own. A
// process trusts its memory for a minute and every wait here is far shorter, so only the
// revocation's notice can explain a refusal. Work is counted (token lookups, from /metrics),
// never timed.

const log = createLogger('silent');
let pg: OwnPostgres;
let storage: Storage;

beforeAll(async () => {
  pg = await ownPostgres('baton-revocation');
  storage = openStorage({ url: pg.url, max: 2, log });
});

afterAll(async () => {
  await stopServeProcesses();
  await storage?.close();
  await pg?.dispose();
});

async function serve(workers: number): Promise<number> {
  const baton = await serveProcess({
    DATABASE_URL: pg.url,
    DB_POOL_MAX: '4',
    BATON_WORKERS: String(workers),
  });
  return baton.port;
}

const lookups = (port: number, source: 'database' | 'memory') =>
  metricValue(port, 'baton_token_resolutions_total', `{source="${source}"}`);

async function seed(project: string) {
  const admin = await seedToken(storage.db, {
    email: 'rv@example.test',
    projectSlug: project,
    label: 'boss',
    admin: true,
  });
  const target = await seedToken(storage.db, {
    email: 'rv@example.test',
    projectSlug: project,
    label: 'worker',
  });
  return { admin: admin.token, target: target.token };
}

describe('revocation across processes', () => {
  it('two processes: the other one, which has the token in memory, refuses it soon', async () => {
    // Seeded before the processes start: the seed's own access notices must not reach them
    // after a first lookup and make them forget the token (a lookup this test would count).
    const { admin, target } = await seed('rv-two');
    const [a, b] = await Promise.all([serve(1), serve(1)]);
    expect((await freshCall(b, target, 'whoami')).status).toBe(200);
    const looked = await lookups(b, 'database');
    for (let i = 0; i < 3; i++) expect((await freshCall(b, target, 'whoami')).status).toBe(200);
    expect(await lookups(b, 'database')).toBe(looked); // served from memory

    expect((await freshCall(a, admin, 'admin_revoke', { participant: 'worker' })).status).toBe(200);
    expect((await freshCall(a, target, 'whoami')).status).toBe(401);
    await eventually(async () => expect((await freshCall(b, target, 'whoami')).status).toBe(401));
  });

  it('BATON_WORKERS=2: every worker, each with the token in memory, refuses it soon', async () => {
    const { admin, target } = await seed('rv-workers');
    const w = await serve(2);
    // New connections go to the workers in turn: each looks the token up once, then remembers.
    for (let i = 0; i < 6; i++) expect((await freshCall(w, target, 'whoami')).status).toBe(200);
    expect(await lookups(w, 'database')).toBe(2);
    expect(await lookups(w, 'memory')).toBe(4);

    expect((await freshCall(w, admin, 'admin_revoke', { participant: 'worker' })).status).toBe(200);
    await eventually(async () => {
      const statuses = [];
      for (let i = 0; i < 4; i++) statuses.push((await freshCall(w, target, 'whoami')).status);
      expect(statuses).toEqual([401, 401, 401, 401]);
    });
  });
});
