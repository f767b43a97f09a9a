import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { normalise } from '../scripts/schema-dump.js';
import { rolledBack, useTestDatabase } from './helpers/db.js';
import { distributionFindings, GLOBAL_EXCEPTIONS } from './helpers/distribution.js';

const exec = promisify(execFile);

describe('committed schema dump', () => {
  it('matches pg_dump --schema-only of a freshly migrated database', async () => {
    // Fails (non-zero exit) when a migration changed the schema and migrations/schema.sql was
    // not regenerated with `npm run schema:dump`.
    const r = await exec(process.execPath, [
      '--import',
      'tsx',
      'scripts/schema-dump.ts',
      '--check',
    ]).catch((e: { code: number; stderr: string }) => e);
    expect((r as { stderr: string }).stderr).toBe('');
    expect((r as { code?: number }).code ?? 0).toBe(0);
  });

  it('ignores only the parts of a dump that vary between runs', () => {
    const dump =
      '\\restrict abc123\n-- Dumped from database version 15.18\nCREATE TABLE t (a int);\n\\unrestrict abc123\n';
    expect(normalise(dump)).toBe('CREATE TABLE t (a int);\n');
    expect(normalise('CREATE TABLE t (a int);\n')).not.toBe(
      normalise('CREATE TABLE t (a bigint);\n'),
    );
  });
});

describe('a schema that can be distributed by project', () => {
  const db = useTestDatabase(2);

  it('leads every key of a project-scoped table with project_id and has no trigger', async () => {
    expect(await distributionFindings(db.db)).toEqual([]);
    // Every exception still exists: one that no longer does must leave the list.
    const { rows } = await sql<{ name: string }>`
      select conname as name from pg_constraint where conname = any(${Object.keys(GLOBAL_EXCEPTIONS)})`.execute(
      db.db,
    );
    expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(GLOBAL_EXCEPTIONS).sort());
  });

  it('fails on a migration that keys a project table globally or adds a trigger', async () => {
    // The migration a contributor might write: a note per project keyed by its own id, a slug
    // unique across projects, an author pointing at a global table, and a trigger (like the one
    // migration 0010 removed).
    const BAD_MIGRATION = `
      CREATE TABLE notes (
        project_id bigint NOT NULL REFERENCES projects (id),
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        slug text NOT NULL UNIQUE,
        author bigint REFERENCES participants (id),
        body text NOT NULL
      );
      CREATE UNIQUE INDEX notes_body_key ON notes (md5(body));
      CREATE FUNCTION notes_touch() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RETURN NEW; END $$;
      CREATE TRIGGER notes_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION notes_touch();
      CREATE TRIGGER participations_remember_lane AFTER UPDATE ON participations
        FOR EACH ROW EXECUTE FUNCTION notes_touch();`;
    await rolledBack(db.db, async (trx) => {
      await sql.raw(BAD_MIGRATION).execute(trx);
      expect(await distributionFindings(trx)).toEqual([
        { table: 'notes', name: 'notes_author_fkey', problem: 'foreign key not led by project_id' },
        { table: 'notes', name: 'notes_body_key', problem: 'unique index not led by project_id' },
        { table: 'notes', name: 'notes_pkey', problem: 'primary key not led by project_id' },
        {
          table: 'notes',
          name: 'notes_slug_key',
          problem: 'unique constraint not led by project_id',
        },
        { table: 'notes', name: 'notes_touch', problem: 'trigger' },
        { table: 'participations', name: 'participations_remember_lane', problem: 'trigger' },
      ]);
    });
  });
});
