import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { seedToken } from '../src/access/seed.js';
import { ClaimQueue } from '../src/db/claim-queue.js';
import { openStorage, type Storage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';
import { useTestDatabase } from './helpers/db.js';

// The claim queue takes concurrent claims on one sequence together in one statement. Here it
// runs against a real database: numbers stay consecutive, each claim keeps its own row and ledger
// event, claims arriving together share transactions, and two queues (two Baton processes)
// on one database still never overlap.

const t = useTestDatabase();

async function participants(slug: string, n: number) {
  for (let i = 0; i < n; i++) {
    await seedToken(t.db, { email: 'queue@example.test', projectSlug: slug, label: `a${i}` });
  }
  const { rows } = await sql<{ project_id: string; participation_id: string }>`
    select distinct t.project_id, t.participation_id
    from tokens t join projects p on p.id = t.project_id
    where p.slug = ${slug} order by t.participation_id`.execute(t.db);
  return rows.map((r) => ({
    projectId: r.project_id,
    participationId: r.participation_id,
    actor: `queue/p${r.participation_id}`,
  }));
}

async function claimsOf(projectId: string) {
  const { rows } = await sql<{
    number: string;
    participation_id: string;
    note: string | null;
    xact: string;
  }>`select number, participation_id, note, xmin::text as xact from claims
     where project_id = ${projectId} order by number`.execute(t.db);
  return rows;
}

async function claimEvents(projectId: string) {
  const { rows } = await sql<{ seq: string; participation_id: string; number: number }>`
    select seq, participation_id, (data->>'number')::int as number from events
    where project_id = ${projectId} and type = 'claim' order by seq`.execute(t.db);
  return rows;
}

describe('claim queue', () => {
  it('takes 300 concurrent claims from two queues in fewer statements, each with its own number and event', async () => {
    const who = await participants('queue-burst', 30);
    const projectId = who[0]?.projectId as string;
    const pools: Storage[] = [0, 1].map(() =>
      openStorage({ url: t.url, max: 5, log: createLogger('silent') }),
    );
    try {
      const queues = pools.map((p) => new ClaimQueue(p.db));
      const results = await Promise.all(
        Array.from({ length: 300 }, (_, i) => {
          const me = who[i % who.length] as (typeof who)[number];
          return (queues[i % 2] as ClaimQueue)
            .claim(projectId, 'adr', {
              participationId: me.participationId,
              actor: me.actor,
              note: `claim ${i}`,
              ref: null,
            })
            .then((row) => ({ i, me, row }));
        }),
      );
      const numbers = results.map((r) => Number(r.row.number)).sort((a, b) => a - b);
      expect(numbers).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));

      // Every answer is the claimant's own row; every claim has one event, by its claimant.
      const rows = await claimsOf(projectId);
      const byNumber = new Map(rows.map((r) => [Number(r.number), r]));
      for (const { i, me, row } of results) {
        expect(row.actor).toBe(me.actor);
        expect(row.note).toBe(`claim ${i}`);
        expect(byNumber.get(Number(row.number))?.participation_id).toBe(me.participationId);
      }
      const events = await claimEvents(projectId);
      expect(events.map((e) => e.number).sort((a, b) => a - b)).toEqual(numbers);
      for (const e of events) {
        expect(e.participation_id).toBe(byNumber.get(e.number)?.participation_id);
      }
      // Dense ledger: the events of this project are consecutive.
      const { rows: seqs } = await sql<{ seq: string }>`
        select seq from events where project_id = ${projectId} order by seq`.execute(t.db);
      const first = Number(seqs[0]?.seq);
      expect(seqs.map((s) => Number(s.seq))).toEqual(seqs.map((_, k) => first + k));

      // Claims that arrived together were committed together.
      const transactions = new Set(rows.map((r) => r.xact)).size;
      expect(transactions).toBeLessThan(300);
    } finally {
      await Promise.all(pools.map((p) => p.close()));
    }
  });

  it('sends a lone claim at once, alone', async () => {
    const [me] = await participants('queue-alone', 1);
    if (!me) throw new Error('no participant');
    const queue = new ClaimQueue(t.db);
    for (let i = 0; i < 3; i++) {
      await queue.claim(me.projectId, 'adr', { ...me, note: null, ref: null });
    }
    const rows = await claimsOf(me.projectId);
    expect(rows.map((r) => Number(r.number))).toEqual([1, 2, 3]);
    expect(new Set(rows.map((r) => r.xact)).size).toBe(3);
  });

  it('fails only the claim that fails, and uses no number for it', async () => {
    const who = await participants('queue-fail', 3);
    const projectId = who[0]?.projectId as string;
    await sql
      .raw(
        `create function fail_queued_claims() returns trigger language plpgsql as $$
         begin
           if new.project_id = ${Number(projectId)} and new.note = 'fail' then
             raise exception 'forced failure of one claim';
           end if;
           return new;
         end $$;
         create trigger fail_queued_claims before insert on claims
           for each row execute function fail_queued_claims();`,
      )
      .execute(t.db);
    try {
      const queue = new ClaimQueue(t.db);
      const results = await Promise.allSettled(
        Array.from({ length: 60 }, (_, i) => {
          const me = who[i % who.length] as (typeof who)[number];
          return queue.claim(projectId, 'adr', {
            ...me,
            note: i % 4 === 1 ? 'fail' : `ok ${i}`,
            ref: null,
          });
        }),
      );
      const failed = results.filter((r) => r.status === 'rejected');
      expect(failed).toHaveLength(15);
      const rows = await claimsOf(projectId);
      expect(rows.map((r) => Number(r.number))).toEqual(
        Array.from({ length: 45 }, (_, i) => i + 1),
      );
      expect(rows.every((r) => r.note?.startsWith('ok '))).toBe(true);
      expect((await claimEvents(projectId)).map((e) => e.number)).toEqual(
        rows.map((r) => Number(r.number)),
      );
    } finally {
      await sql`drop trigger fail_queued_claims on claims`.execute(t.db);
      await sql`drop function fail_queued_claims()`.execute(t.db);
    }
  });
});
