import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort, startEmbedded, type EmbeddedServer } from '../../src/db/embedded.js';
import { migrateToLatest } from '../../src/db/migrate.js';
import { openStorage } from '../../src/db/pool.js';
import { createLogger } from '../../src/log.js';

// The test database chooser (spec §2): TEST_DATABASE_URL when set, else a testcontainers
// PostgreSQL when a Docker engine answers, else an embedded PostgreSQL in a temporary directory.
// Returns a maintenance URL (a database we may CREATE DATABASE from) and how to stop it.

export interface TestServer {
  url: string;
  source: 'TEST_DATABASE_URL' | 'testcontainers' | 'embedded';
  stop(): Promise<void>;
}

export async function chooseTestServer(): Promise<TestServer> {
  const given = process.env.TEST_DATABASE_URL;
  if (given) return { url: given, source: 'TEST_DATABASE_URL', stop: async () => {} };

  const container = await tryTestcontainers();
  if (container) return container;

  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-test-pg-'));
  await fs.chmod(dataDir, 0o755);
  const server = await startEmbedded({ dataDir, log: createLogger('silent'), fast: true });
  return {
    url: server.url,
    source: 'embedded',
    stop: async () => {
      await server.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function tryTestcontainers(): Promise<TestServer | undefined> {
  try {
    const tc = await import('testcontainers');
    // Without a Docker engine this throws within milliseconds.
    await tc.getContainerRuntimeClient();
    const password = randomBytes(12).toString('hex');
    const container = await new tc.GenericContainer('postgres:18-alpine')
      .withEnvironment({ POSTGRES_PASSWORD: password })
      .withCommand(['postgres', '-c', 'fsync=off', '-c', 'max_connections=300'])
      .withExposedPorts(5432)
      .withWaitStrategy(tc.Wait.forLogMessage(/database system is ready to accept connections/, 2))
      .start();
    return {
      url: `postgres://postgres:${password}@${container.getHost()}:${container.getMappedPort(5432)}/postgres`,
      source: 'testcontainers',
      stop: async () => {
        await container.stop();
      },
    };
  } catch {
    return undefined;
  }
}

export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function adminQuery(url: string, text: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * A migrated PostgreSQL of one test file's own, on a fixed port, so the file can stop it under a
 * running Baton and start it again at the same address.
 */
export interface OwnPostgres {
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops it (if running) and removes its data. */
  dispose(): Promise<void>;
}

export async function ownPostgres(prefix: string): Promise<OwnPostgres> {
  const log = createLogger('silent');
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), `${prefix}-`));
  await fs.chmod(dataDir, 0o755);
  const port = await freePort();
  let server: EmbeddedServer | undefined = await startEmbedded({ dataDir, log, fast: true, port });
  const url = server.url;
  const storage = openStorage({ url, max: 1, log });
  try {
    await migrateToLatest(storage.db);
  } finally {
    await storage.close();
  }
  return {
    url,
    port,
    stop: async () => {
      await server?.stop();
      server = undefined;
    },
    start: async () => {
      server = await startEmbedded({ dataDir, log, fast: true, port });
    },
    dispose: async () => {
      await server?.stop();
      await fs.rm(dataDir, { recursive: true, force: true });
    },
  };
}
