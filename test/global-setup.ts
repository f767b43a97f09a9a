import type { TestProject } from 'vitest/node';
import { migrateToLatest } from '../src/db/migrate.js';
import { openStorage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { adminQuery, chooseTestServer, withDatabase } from './helpers/pg.js';

// Once per run: pick a PostgreSQL, build a migrated template database, and hand its name to the
// test files, which clone it (CREATE DATABASE … TEMPLATE takes well under 100 ms).

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
    templateDb: string;
  }
}

export default async function setup(project: TestProject) {
  const server = await chooseTestServer();
  const template = `baton_tpl_${process.pid}`;
  await adminQuery(server.url, `drop database if exists ${template}`);
  await adminQuery(server.url, `create database ${template}`);
  const storage = openStorage({
    url: withDatabase(server.url, template),
    max: 2,
    log: createLogger('silent'),
  });
  try {
    await migrateToLatest(storage.db);
  } finally {
    await storage.close();
  }
  project.provide('pgAdminUrl', server.url);
  project.provide('templateDb', template);
  process.stderr.write(`[baton tests] PostgreSQL from ${server.source}\n`);

  return async () => {
    await adminQuery(server.url, `drop database if exists ${template}`).catch(() => {});
    await server.stop();
  };
}
