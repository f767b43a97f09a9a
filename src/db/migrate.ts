import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import type { Db } from './pool.js';

// Plain SQL migrations, numbered, forward-only. kysely's migrator runs them: on PostgreSQL it
// takes an advisory lock and applies every pending file in one transaction, so two processes
// migrating at once cannot interleave and a failed file leaves nothing half-applied.

const MIGRATIONS_DIR = fileURLToPath(new URL('../../migrations/', import.meta.url));
const FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** kysely's FileMigrationProvider imports .js/.ts modules; ours reads SQL text instead. */
class SqlMigrationProvider implements MigrationProvider {
  constructor(private readonly dir = MIGRATIONS_DIR) {}

  async getMigrations(): Promise<Record<string, Migration>> {
    const names = (await fs.readdir(this.dir)).filter((f) => FILE.test(f)).sort();
    const out: Record<string, Migration> = {};
    for (const file of names) {
      const text = await fs.readFile(path.join(this.dir, file), 'utf8');
      out[file.replace(/\.sql$/, '')] = {
        up: async (db) => {
          await sql.raw(text).execute(db);
        },
      };
    }
    return out;
  }
}

function migrator(db: Db): Migrator {
  return new Migrator({ db, provider: new SqlMigrationProvider() });
}

export interface MigrateOutcome {
  applied: string[];
}

export async function migrateToLatest(db: Db): Promise<MigrateOutcome> {
  const { error, results } = await migrator(db).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(
      failed ? `migration ${failed} failed: ${reason}` : `migration failed: ${reason}`,
      {
        cause: error,
      },
    );
  }
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
  };
}

export type SchemaState =
  | { state: 'current' }
  | { state: 'pending'; pending: string[] }
  | { state: 'newer'; unknown: string[] };

/** What serve checks before it accepts a request; read-only. */
export async function schemaState(db: Db): Promise<SchemaState> {
  const known = Object.keys(await new SqlMigrationProvider().getMigrations());
  const table = await sql<{
    ok: boolean;
  }>`select to_regclass('kysely_migration') is not null as ok`.execute(db);
  const applied = table.rows[0]?.ok
    ? (
        await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db)
      ).rows.map((r) => r.name)
    : [];
  const unknown = applied.filter((n) => !known.includes(n));
  if (unknown.length > 0) return { state: 'newer', unknown };
  const pending = known.filter((n) => !applied.includes(n));
  if (pending.length > 0) return { state: 'pending', pending };
  return { state: 'current' };
}

export function describeSchemaState(s: SchemaState): string {
  switch (s.state) {
    case 'current':
      return 'the database schema is current';
    case 'pending':
      return `the database is not migrated (${s.pending.length} pending: ${s.pending.join(', ')}); run \`npx baton migrate\` (or npm run migrate)`;
    case 'newer':
      return `the database schema is newer than this Baton (unknown migrations: ${s.unknown.join(', ')}); upgrade Baton`;
  }
}
