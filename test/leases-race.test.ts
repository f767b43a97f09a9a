import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';
import { err, ledger, makeAgent, ok, type Agent } from './helpers/agents.js';

// Lease races over real sessions: each agent has its own token and MCP session, requests are
// fired together and served on separate pooled connections. Of overlapping exclusive requests
// exactly one may win, every time.

const baton = useTestBaton();

async function agents(project: string, n: number): Promise<Agent[]> {
  const out: Agent[] = [];
  for (let i = 0; i < n; i++) out.push(await makeAgent(baton, project, `racer-${i}`));
  return out;
}

/** Fires one lease per agent at once; returns the winners' results and the losers' errors. */
async function race(contenders: [Agent, string][]) {
  const results = await Promise.all(contenders.map(([a, surface]) => a.call('lease', { surface })));
  const winners = results.flatMap((r, i) =>
    r.isError ? [] : [{ agent: contenders[i]?.[0] as Agent, body: ok(r) }],
  );
  const losers = results.filter((r) => r.isError).map(err);
  return { winners, losers };
}

describe('lease under concurrency', () => {
  it(
    '200 trials of two agents leasing one fresh surface at once: exactly one grant each',
    { timeout: 120_000 },
    async () => {
      const [ana, bo] = (await agents('duel', 2)) as [Agent, Agent];
      const wins = new Map<string, number>();
      for (let trial = 0; trial < 200; trial++) {
        const surface = `src/trial-${trial}/file.ts`;
        const { winners, losers } = await race([
          [ana, surface],
          [bo, surface],
        ]);
        expect([trial, winners.length]).toEqual([trial, 1]);
        const winner = winners[0] as { agent: Agent; body: Record<string, number> };
        expect(losers.map((e) => [e.code, e.holders?.[0]?.actor])).toEqual([
          ['lease_held', winner.agent.actor],
        ]);
        wins.set(winner.agent.actor, (wins.get(winner.agent.actor) ?? 0) + 1);
        ok(await winner.agent.call('release', { lease_id: winner.body.lease_id }));
      }
      expect([...wins.values()].reduce((a, b) => a + b, 0)).toBe(200);
      expect(await ledger(baton, 'duel', 'lease')).toHaveLength(200);
      expect(await ledger(baton, 'duel', 'release')).toHaveLength(200);
    },
  );

  it(
    '50 agents leasing one surface at once: exactly one grant, round after round',
    { timeout: 120_000 },
    async () => {
      const crowd = await agents('crowd', 50);
      for (let round = 0; round < 5; round++) {
        const surface = round % 2 ? `lane:round-${round}` : `docs/round-${round}.md`;
        const { winners, losers } = await race(crowd.map((a) => [a, surface]));
        expect([round, winners.length, losers.length]).toEqual([round, 1, 49]);
        expect(new Set(losers.map((e) => e.code))).toEqual(new Set(['lease_held']));
        const winner = winners[0] as { agent: Agent; body: Record<string, number> };
        ok(await winner.agent.call('release', { surface }));
      }
    },
  );

  it(
    'overlapping globs race like equal surfaces: src/** against src/db/pool.ts',
    { timeout: 120_000 },
    async () => {
      const [ana, bo] = (await agents('globs', 2)) as [Agent, Agent];
      for (let trial = 0; trial < 100; trial++) {
        const root = `t${trial}`;
        // Alternate who asks for the glob, so either side of the overlap gets to go first.
        const [globber, pather] = trial % 2 ? [ana, bo] : [bo, ana];
        const { winners } = await race([
          [globber, `${root}/src/**`],
          [pather, `${root}/src/db/pool.ts`],
        ]);
        expect([trial, winners.length]).toEqual([trial, 1]);
        const winner = winners[0] as { agent: Agent; body: Record<string, number> };
        ok(await winner.agent.call('release', { lease_id: winner.body.lease_id }));
      }
    },
  );

  it(
    '50 agents with 50 different but overlapping surfaces: exactly one grant',
    { timeout: 120_000 },
    async () => {
      const crowd = await agents('mixed', 50);
      const shapes = [
        'src/**',
        'src/db/',
        'src/db/pool.ts',
        'src/*/pool.ts',
        '**/pool.ts',
        'src/db/*.ts',
        'src/db/p?ol.ts',
        'src/[a-d]b/pool.ts',
        '**',
        'src/db/**/*.ts',
      ];
      const { winners } = await race(crowd.map((a, i) => [a, shapes[i % shapes.length] as string]));
      expect(winners).toHaveLength(1);
    },
  );

  it(
    'concurrent grants get fencing tokens that rise in commit order',
    { timeout: 120_000 },
    async () => {
      const crowd = await agents('tokens', 40);
      const { winners } = await race(crowd.map((a, i) => [a, `own/${i}.ts`]));
      expect(winners).toHaveLength(40);
      const tokens = winners.map((w) => w.body.fencing_token as number);
      expect(new Set(tokens).size).toBe(40);
      // The ledger is commit-ordered; every grant there carries a larger token than the one before.
      const inCommitOrder = (await ledger(baton, 'tokens', 'lease')).map(
        (e) => e.data.fencing_token,
      );
      expect(inCommitOrder).toEqual([...inCommitOrder].sort((a, b) => a - b));
      expect(inCommitOrder).toHaveLength(40);
    },
  );
});
