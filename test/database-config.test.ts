import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { freePort } from '../src/db/embedded.js';
import { openDatabase } from '../src/db/open.js';
import { openStorage, transact } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { createTestDatabase } from './helpers/db.js';
import { adminQuery, withDatabase } from './helpers/pg.js';

// DATABASE_DIRECT_URL and DB_PREPARED_STATEMENTS: how they are read, and that migrations take
// the direct connection (the pool's may be a pooler's).

const problems = (env: Record<string, string>) => {
  try {
    loadConfig(env);
    return [];
  } catch (err) {
    return (err as ConfigError).problems;
  }
};

describe('database settings', () => {
  it('default to one URL and prepared statements', () => {
    const c = loadConfig({ DATABASE_URL: 'postgres://u@db/baton' });
    expect(c.databaseDirectUrl).toBe('postgres://u@db/baton');
    expect(c.preparedStatements).toBe(true);
    const embedded = loadConfig({});
    expect(embedded.databaseDirectUrl).toBeUndefined();
  });

  it('take a direct URL and the pooler-safe mode', () => {
    const c = loadConfig({
      DATABASE_URL: 'postgres://u@pooler:6432/baton',
      DATABASE_DIRECT_URL: 'postgresql://u@db:5432/baton',
      DB_PREPARED_STATEMENTS: 'false',
    });
    expect(c.databaseUrl).toBe('postgres://u@pooler:6432/baton');
    expect(c.databaseDirectUrl).toBe('postgresql://u@db:5432/baton');
    expect(c.preparedStatements).toBe(false);
    expect(loadConfig({ DB_PREPARED_STATEMENTS: 'true' }).preparedStatements).toBe(true);
  });

  it('refuse what they cannot use, saying what to set', () => {
    expect(problems({ DB_PREPARED_STATEMENTS: 'no' })).toEqual([
      'DB_PREPARED_STATEMENTS must be true or false',
    ]);
    expect(problems({ DATABASE_DIRECT_URL: 'postgres://u@db/baton' })).toEqual([
      'DATABASE_DIRECT_URL needs DATABASE_URL (without it Baton runs its embedded PostgreSQL)',
    ]);
    expect(
      problems({ DATABASE_URL: 'postgres://u@db/baton', DATABASE_DIRECT_URL: 'mysql://db' }),
    ).toEqual(['DATABASE_DIRECT_URL must start with postgres:// or postgresql://']);
  });
});

describe('migrations', () => {
  it('go over DATABASE_DIRECT_URL, whatever DATABASE_URL reaches', async () => {
    const admin = inject('pgAdminUrl');
    const name = `baton_t_${randomBytes(6).toString('hex')}`;
    await adminQuery(admin, `create database ${name}`);
    const direct = withDatabase(admin, name);
    // Nothing listens on the pool's address: only the direct URL can apply the migrations.
    const nowhere = new URL(direct);
    nowhere.port = String(await freePort());
    const config = loadConfig({
      DATABASE_URL: nowhere.toString(),
      DATABASE_DIRECT_URL: direct,
      DB_PREPARED_STATEMENTS: 'false',
    });
    const log = createLogger('silent');
    try {
      const database = await openDatabase(config, log, { schema: 'migrate' });
      expect(database.directUrl).toBe(direct);
      await database.close();
      const check = openStorage({ url: direct, max: 1, log });
      const { rows } = await sql<{ n: number }>`
        select count(*)::int as n from kysely_migration`.execute(check.db);
      await check.close();
      expect(rows[0]?.n).toBeGreaterThanOrEqual(10);
    } finally {
      await adminQuery(admin, `drop database if exists ${name} with (force)`);
    }
  });
});

describe('the pooler-safe mode, on PostgreSQL itself', () => {
  // test/pooler.test.ts runs it behind a real PgBouncer; this runs wherever the suite runs.
  it('prepares no statement, yet keeps the statement timeout, alone and in a transaction', async () => {
    const database = await createTestDatabase();
    const log = createLogger('silent');
    const safe = openStorage({
      url: database.url,
      max: 1,
      log,
      prepared: false,
      statementTimeoutMs: 200,
    });
    const usual = openStorage({ url: database.url, max: 1, log });
    const prepared = sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`;
    try {
      await sql`select ${1}::int`.execute(safe.db);
      await transact(safe.db, (trx) => sql`select ${2}::int`.execute(trx));
      expect((await prepared.execute(safe.db)).rows).toEqual([{ n: 0 }]);
      await sql`select ${1}::int`.execute(usual.db);
      expect((await prepared.execute(usual.db)).rows[0]?.n).toBeGreaterThan(0);

      const sleep = sql`select pg_sleep(${5})`;
      await expect(sleep.execute(safe.db)).rejects.toMatchObject({ code: '57014' });
      await expect(transact(safe.db, (trx) => sleep.execute(trx))).rejects.toMatchObject({
        code: '57014',
      });
    } finally {
      await safe.close();
      await usual.close();
      await database.drop();
    }
  });
});

describe('the public URL by default', () => {
  it('is the listening address, with an IPv6 host in brackets', () => {
    const url = (HOST: string) => loadConfig({ HOST, PORT: '8787' }).publicUrl;
    expect(url('127.0.0.1')).toBe('http://127.0.0.1:8787');
    expect(url('::1')).toBe('http://[::1]:8787');
  });
});
