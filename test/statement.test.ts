import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { statement } from '../src/db/statement.js';
import { useTestDatabase } from './helpers/db.js';

const t = useTestDatabase();

describe('statement', () => {
  it('binds named parameters by name on every call, keeping constants, from one compiled text', async () => {
    let builds = 0;
    const s = statement<
      { a: number; b: string },
      { a: number; b: string; c: string; twice: number }
    >((p) => {
      builds++;
      return sql`select ${p.a}::int as a, ${p.b}::text as b, ${'constant'}::text as c,
                          ${p.a}::int * 2 as twice`;
    });
    expect(await s.run(t.db, { a: 1, b: 'x' })).toEqual([
      { a: 1, b: 'x', c: 'constant', twice: 2 },
    ]);
    expect(await s.run(t.db, { a: 21, b: "it's" })).toEqual([
      { a: 21, b: "it's", c: 'constant', twice: 42 },
    ]);
    expect(builds).toBe(1);
  });

  it('refuses a call that leaves a parameter out', async () => {
    const s = statement<{ a: number }, { a: number }>((p) => sql`select ${p.a}::int as a`);
    await expect(s.run(t.db, {} as { a: number })).rejects.toThrow(/parameter a was not given/);
  });
});
