import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { openStorage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { ownPostgres, type OwnPostgres } from './helpers/pg.js';
import { startTestBaton, type TestBaton } from './helpers/baton.js';

// A PostgreSQL of this file's own, so it can be stopped and started under a running Baton.

let pg: OwnPostgres;
let baton: TestBaton;

beforeAll(async () => {
  pg = await ownPostgres('baton-ready');
  baton = await startTestBaton({ database: { url: pg.url } });
});

afterAll(async () => {
  await baton?.close();
  await pg?.dispose();
});

const readyz = async () => {
  const res = await fetch(`${baton.baseUrl}/readyz`);
  return { status: res.status, body: (await res.json()) as { status: string; reason?: string } };
};

describe('/readyz across a database restart', () => {
  it('answers 503 while PostgreSQL is down and 200 once it is back, without restarting Baton', async () => {
    const { token } = await seedToken(baton.storage.db, {
      email: 'r@example.test',
      projectSlug: 'ready',
      label: 'probe',
    });
    expect((await readyz()).status).toBe(200);

    await pg.stop();
    const down = await readyz();
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'not_ready', reason: 'the database is unreachable' });
    // Tool calls meanwhile fail as `unavailable`, not `internal`.
    const call = await fetch(`${baton.baseUrl}/api/v1/tools/whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(call.status).toBe(503);
    expect(((await call.json()) as { error: { code: string } }).error.code).toBe('unavailable');
    expect((await fetch(`${baton.baseUrl}/healthz`)).status).toBe(200);

    await pg.start();
    let back = await readyz();
    for (let i = 0; i < 50 && back.status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
      back = await readyz();
    }
    expect(back).toEqual({ status: 200, body: { status: 'ready' } });
    const again = await fetch(`${baton.baseUrl}/api/v1/tools/whoami`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(again.status).toBe(200);
  });

  it('answers 503 naming the reason when the schema is not current', async () => {
    const storage = openStorage({ url: pg.url, max: 1, log: createLogger('silent') });
    try {
      await storage.db
        .insertInto('kysely_migration' as never)
        .values({ name: '9999_from_the_future', timestamp: new Date().toISOString() } as never)
        .execute();
      const r = await readyz();
      expect(r.status).toBe(503);
      expect(r.body.reason).toMatch(/newer than this Baton.*9999_from_the_future/);
    } finally {
      await storage.db
        .deleteFrom('kysely_migration' as never)
        .where('name' as never, '=', '9999_from_the_future' as never)
        .execute();
      await storage.close();
    }
  });
});
