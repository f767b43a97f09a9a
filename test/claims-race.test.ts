import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { describe, expect, it } from 'vitest';
import { call, useTestBaton } from './helpers/baton.js';
import { ledger } from './helpers/agents.js';

// The claim race of spec §7 over real sessions: 500 tokens, each with its own MCP session over
// HTTP, claim from one sequence at once. The server's pool is 20 connections, so the requests
// queue; every one must still get a different number, with no gaps, and a matching event.

const baton = useTestBaton();
const AGENTS = 500;

describe('claim under concurrency', () => {
  it(
    '500 concurrent claims from 500 sessions return exactly 1..500, with 500 matching events',
    { timeout: 120_000 },
    async () => {
      const seeded: { token: string; actor: string }[] = [];
      for (let i = 0; i < AGENTS; i++) {
        seeded.push(await baton.seed({ projectSlug: 'claim-race', label: `claimer-${i}` }));
      }
      const clients: Client[] = [];
      for (let i = 0; i < AGENTS; i += 50) {
        clients.push(
          ...(await Promise.all(seeded.slice(i, i + 50).map((s) => baton.connect(s.token)))),
        );
      }

      const results = await Promise.all(clients.map((c) => call(c, 'claim', { sequence: 'adr' })));

      expect(results.filter((r) => r.isError).map((r) => r.body)).toEqual([]);
      const numbers = results.map((r) => r.body.number as number);
      expect([...numbers].sort((a, b) => a - b)).toEqual(
        Array.from({ length: AGENTS }, (_, i) => i + 1),
      );
      // Each number went to the session that asked, and the ledger says so once per claim: read
      // as actor → number, the events are exactly what the 500 calls returned, each on `adr` and
      // recorded against its own participation.
      const asked = Object.fromEntries(seeded.map((s, i) => [s.actor, numbers[i]]));
      const events = await ledger(baton, 'claim-race', 'claim');
      expect(events).toHaveLength(AGENTS);
      expect(Object.fromEntries(events.map((e) => [e.actor, e.data.number]))).toEqual(asked);
      expect(events.filter((e) => e.sequence !== 'adr')).toEqual([]);
      const participations = events.map((e) => e.participation_id);
      expect(participations).not.toContain(null);
      expect(new Set(participations).size).toBe(AGENTS);
    },
  );
});
