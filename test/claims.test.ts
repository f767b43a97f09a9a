import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';
import { err, ledger, makeAgent, ok, projectId } from './helpers/agents.js';

// claim, seed_sequence, latest_claims, list_sequences and who_claimed end to end: the real HTTP
// server, the SDK client, a database of this file's own.

const baton = useTestBaton();

describe('claim', () => {
  it('hands out consecutive numbers, creating the sequence on first claim, with a ledger event each', async () => {
    const ana = await makeAgent(baton, 'claims-basic', 'ana');
    const bo = await makeAgent(baton, 'claims-basic', 'bo');
    expect(ok(await ana.call('claim', { sequence: 'adr' }))).toEqual({
      sequence: 'adr',
      number: 1,
      formatted: '1',
    });
    expect(ok(await bo.call('claim', { sequence: 'adr', note: 'caching', ref: 'PR#7' }))).toEqual({
      sequence: 'adr',
      number: 2,
      formatted: '2',
    });
    expect(ok(await ana.call('claim', { sequence: 'release' })).number).toBe(1);

    const events = await ledger(baton, 'claims-basic', 'claim');
    expect(events.map((e) => [e.actor, e.sequence, e.data.number, e.ref])).toEqual([
      [ana.actor, 'adr', 1, null],
      [bo.actor, 'adr', 2, 'PR#7'],
      [ana.actor, 'release', 1, null],
    ]);
    expect(events[1]?.data).toEqual({ number: 2, formatted: '2', note: 'caching' });
  });

  it('works through POST /api/v1/tools/claim as well', async () => {
    const ana = await makeAgent(baton, 'claims-api', 'ana');
    const r = await ana.api('claim', { sequence: 'migration' });
    expect(r).toEqual({
      status: 200,
      body: { sequence: 'migration', number: 1, formatted: '1' },
    });
    const bad = await ana.api('claim', { sequence: 'Migration' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_argument');
  });

  it('refuses bad input with invalid_argument that says what to fix', async () => {
    const ana = await makeAgent(baton, 'claims-input', 'ana');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ sequence: 'ADR' }, /sequence: a sequence name is 1–64 characters of a-z/],
      [{ sequence: '' }, /sequence: a sequence name/],
      [{ sequence: 'a'.repeat(65) }, /sequence: a sequence name/],
      [{ sequence: 'adr', note: 'x\u0000y' }, /note: must not contain NUL/],
      [{ sequence: 'adr', ref: 'r'.repeat(501) }, /ref: must be at most 500/],
      [{ sequence: 'adr', idempotency_key: '' }, /idempotency_key: must not be empty/],
      [{ sequence: 'adr', number: 3 }, /number: unknown argument; claim takes sequence, note/],
      [{}, /sequence: is required/],
    ];
    for (const [args, message] of cases) {
      const e = err(await ana.call('claim', args));
      expect([args, e.code]).toEqual([args, 'invalid_argument']);
      expect(e.message).toMatch(message);
    }
    expect(await ledger(baton, 'claims-input', 'claim')).toEqual([]);
  });

  it('with an idempotency_key returns the first claim to a retry and writes nothing', async () => {
    const ana = await makeAgent(baton, 'claims-idem', 'ana');
    const bo = await makeAgent(baton, 'claims-idem', 'bo');
    const first = ok(await ana.call('claim', { sequence: 'adr', idempotency_key: 'k1' }));
    const again = ok(await ana.call('claim', { sequence: 'adr', idempotency_key: 'k1' }));
    expect(again).toEqual(first);
    // The key is the sender's own: another agent's k1 is a new claim.
    expect(ok(await bo.call('claim', { sequence: 'adr', idempotency_key: 'k1' })).number).toBe(2);
    // Concurrent retries of one key wait for each other and all get the same number.
    const retries = await Promise.all(
      Array.from({ length: 10 }, () =>
        ana.call('claim', { sequence: 'adr', idempotency_key: 'k2' }),
      ),
    );
    expect(new Set(retries.map((r) => ok(r).number))).toEqual(new Set([3]));
    expect((await ledger(baton, 'claims-idem', 'claim')).map((e) => e.data.number)).toEqual([
      1, 2, 3,
    ]);
    const e = err(await ana.call('claim', { sequence: 'release', idempotency_key: 'k1' }));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/`k1` already claimed 1 from `adr`; use a new key/);
  });

  it('consumes no number when its transaction fails after allocating one', async () => {
    const ana = await makeAgent(baton, 'claims-fail', 'ana');
    const id = await projectId(baton, 'claims-fail');
    // Make the ledger append (the claim's last statement, after the number was taken) fail for
    // claims whose note asks for it.
    await sql
      .raw(
        `create function fail_marked_claims() returns trigger language plpgsql as $$
         begin
           if new.project_id = ${Number(id)} and new.type = 'claim' and new.data->>'note' = 'fail' then
             raise exception 'forced failure after the number was allocated';
           end if;
           return new;
         end $$;
         create trigger fail_marked_claims before insert on events
           for each row execute function fail_marked_claims();`,
      )
      .execute(baton.storage.db);
    try {
      expect(ok(await ana.call('claim', { sequence: 'adr' })).number).toBe(1);
      const failed = err(await ana.call('claim', { sequence: 'adr', note: 'fail' }));
      expect(failed.code).toBe('internal');
      expect(failed.message).toMatch(/request id/);
      expect(ok(await ana.call('claim', { sequence: 'adr' })).number).toBe(2);

      // And under concurrency: a third of 60 claims fail; the rest are exactly 3..42.
      const results = await Promise.all(
        Array.from({ length: 60 }, (_, i) =>
          ana.call('claim', { sequence: 'adr', note: i % 3 === 0 ? 'fail' : 'ok' }),
        ),
      );
      expect(results.filter((r) => r.isError)).toHaveLength(20);
      const numbers = results.filter((r) => !r.isError).map((r) => ok(r).number as number);
      expect(numbers.sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => i + 3));
      const events = await ledger(baton, 'claims-fail', 'claim');
      expect(events.map((e) => e.data.number).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 42 }, (_, i) => i + 1),
      );
    } finally {
      await sql`drop trigger fail_marked_claims on events`.execute(baton.storage.db);
    }
  });
});

describe('seed_sequence', () => {
  it('formats prefix and pad: R103, 0001, ADR-0042, and never cuts a long number', async () => {
    const ana = await makeAgent(baton, 'seed-format', 'ana');
    const seeded = ok(
      await ana.call('seed_sequence', { sequence: 'release', current: 102, prefix: 'R' }),
    );
    expect(seeded).toEqual({
      sequence: 'release',
      prefix: 'R',
      pad: 0,
      last_number: 102,
      next_number: 103,
      next_formatted: 'R103',
      created: true,
    });
    expect(ok(await ana.call('claim', { sequence: 'release' })).formatted).toBe('R103');
    ok(await ana.call('seed_sequence', { sequence: 'migration', current: 0, pad: 4 }));
    expect(ok(await ana.call('claim', { sequence: 'migration' })).formatted).toBe('0001');
    ok(await ana.call('seed_sequence', { sequence: 'adr', current: 41, prefix: 'ADR-', pad: 4 }));
    expect(ok(await ana.call('claim', { sequence: 'adr' }))).toEqual({
      sequence: 'adr',
      number: 42,
      formatted: 'ADR-0042',
    });
    ok(
      await ana.call('seed_sequence', { sequence: 'ticket', current: 12344, prefix: 'T-', pad: 3 }),
    );
    expect(ok(await ana.call('claim', { sequence: 'ticket' })).formatted).toBe('T-12345');
  });

  it('lets anyone create a sequence but only an admin change one', async () => {
    const ana = await makeAgent(baton, 'seed-rights', 'ana');
    const lead = await makeAgent(baton, 'seed-rights', 'lead', { admin: true });
    ok(await ana.call('seed_sequence', { sequence: 'adr', current: 10 }));
    const e = err(await ana.call('seed_sequence', { sequence: 'adr', current: 20 }));
    expect(e.code).toBe('forbidden');
    expect(e.message).toMatch(/`adr` already exists; only a project admin can re-seed it/);
    // A sequence created by a claim exists just the same.
    ok(await ana.call('claim', { sequence: 'rfc' }));
    expect(err(await ana.call('seed_sequence', { sequence: 'rfc', current: 5 })).code).toBe(
      'forbidden',
    );
    const r = ok(await lead.call('seed_sequence', { sequence: 'adr', current: 20 }));
    expect(r).toMatchObject({ last_number: 20, next_formatted: '21', created: false });
    const api = await ana.api('seed_sequence', { sequence: 'adr', current: 30 });
    expect(api.status).toBe(403);
    expect(api.body.error.code).toBe('forbidden');
    const byAdmin = await lead.api('seed_sequence', { sequence: 'adr', current: 30 });
    expect(byAdmin.status).toBe(200);
    expect(byAdmin.body.next_formatted).toBe('31');
  });

  it('of concurrent non-admins creating one sequence, exactly one succeeds', async () => {
    const agents = await Promise.all(
      Array.from({ length: 8 }, (_, i) => makeAgent(baton, 'seed-race', `seeder-${i}`)),
    );
    const results = await Promise.all(
      agents.map((a, i) => a.call('seed_sequence', { sequence: 'adr', current: i * 10 })),
    );
    expect(results.filter((r) => !r.isError)).toHaveLength(1);
    expect(results.filter((r) => r.isError).map((r) => err(r).code)).toEqual(
      Array(7).fill('forbidden'),
    );
  });

  it('never rewinds below the last claimed number, and keeps prefix and pad when omitted', async () => {
    const lead = await makeAgent(baton, 'seed-rewind', 'lead', { admin: true });
    ok(await lead.call('seed_sequence', { sequence: 'adr', current: 40, prefix: 'ADR-', pad: 4 }));
    ok(await lead.call('claim', { sequence: 'adr' }));
    ok(await lead.call('claim', { sequence: 'adr' })); // ADR-0042
    const e = err(await lead.call('seed_sequence', { sequence: 'adr', current: 41 }));
    expect(e.code).toBe('conflict');
    expect(e.message).toMatch(/handed out up to ADR-0042 \(42\); current must be at least 42/);
    expect(e.last_claimed).toBe(42);
    // Re-seeding at the last claimed number, or past it, is fine; prefix and pad stay.
    expect(ok(await lead.call('seed_sequence', { sequence: 'adr', current: 42 }))).toMatchObject({
      prefix: 'ADR-',
      pad: 4,
      next_formatted: 'ADR-0043',
    });
    ok(await lead.call('seed_sequence', { sequence: 'adr', current: 99 }));
    expect(ok(await lead.call('claim', { sequence: 'adr' })).formatted).toBe('ADR-0100');
    // Only the pad changes when only the pad is given.
    ok(await lead.call('seed_sequence', { sequence: 'adr', current: 100, pad: 6 }));
    expect(ok(await lead.call('claim', { sequence: 'adr' })).formatted).toBe('ADR-000101');
    // An unclaimed stretch can be rewound: seeded past by mistake, nothing handed out yet.
    ok(await lead.call('seed_sequence', { sequence: 'typo', current: 900 }));
    ok(await lead.call('seed_sequence', { sequence: 'typo', current: 9 }));
    expect(ok(await lead.call('claim', { sequence: 'typo' })).number).toBe(10);

    const seeds = await ledger(baton, 'seed-rewind', 'sequence_seeded');
    expect(seeds.map((s) => [s.actor, s.sequence, s.data.current])).toEqual([
      [lead.actor, 'adr', 40],
      [lead.actor, 'adr', 42],
      [lead.actor, 'adr', 99],
      [lead.actor, 'adr', 100],
      [lead.actor, 'typo', 900],
      [lead.actor, 'typo', 9],
    ]);
    expect(seeds[1]?.data.previous).toMatchObject({ last_number: 42, prefix: 'ADR-', pad: 4 });
  });

  it('refuses a bad prefix or pad', async () => {
    const ana = await makeAgent(baton, 'seed-input', 'ana');
    const e1 = err(await ana.call('seed_sequence', { sequence: 'x', current: 1, prefix: 'A B' }));
    expect(e1.message).toMatch(/prefix: a prefix is up to 32 printable ASCII characters/);
    const e2 = err(await ana.call('seed_sequence', { sequence: 'x', current: 1, pad: 13 }));
    expect(e2.message).toMatch(/pad: /);
    const e3 = err(await ana.call('seed_sequence', { sequence: 'x', current: -1 }));
    expect(e3.code).toBe('invalid_argument');
  });
});

describe('who_claimed, latest_claims, list_sequences', () => {
  it('who_claimed answers who, when, note and ref', async () => {
    const ana = await makeAgent(baton, 'lookup', 'ana');
    const bo = await makeAgent(baton, 'lookup', 'bo');
    ok(await ana.call('seed_sequence', { sequence: 'adr', current: 6, prefix: 'ADR-', pad: 4 }));
    ok(await ana.call('claim', { sequence: 'adr', note: 'retry policy', ref: 'docs/adr/0007.md' }));
    ok(await bo.call('claim', { sequence: 'adr' }));
    const r = ok(await bo.call('who_claimed', { sequence: 'adr', number: 7 }));
    expect(r).toEqual({
      sequence: 'adr',
      number: 7,
      formatted: 'ADR-0007',
      by: ana.actor,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      note: 'retry policy',
      ref: 'docs/adr/0007.md',
    });
    const event = (await ledger(baton, 'lookup', 'claim'))[0];
    expect(new Date(r.at).getTime()).toBeLessThanOrEqual(Date.now());
    expect(event?.data.formatted).toBe('ADR-0007');
    expect(ok(await ana.call('who_claimed', { sequence: 'adr', number: 8 })).by).toBe(bo.actor);

    const notYet = err(await ana.call('who_claimed', { sequence: 'adr', number: 9 }));
    expect(notYet.code).toBe('not_found');
    expect(notYet.message).toMatch(/has not reached 9: the next claim gets ADR-0009/);
    const skipped = err(await ana.call('who_claimed', { sequence: 'adr', number: 3 }));
    expect(skipped.message).toMatch(/never claimed: the sequence was seeded past it/);
    const unknown = err(await ana.call('who_claimed', { sequence: 'adrs', number: 1 }));
    expect(unknown.code).toBe('not_found');
    expect(unknown.message).toMatch(/no sequence `adrs` in this project; known: adr/);
    const api = await ana.api('who_claimed', { sequence: 'adr', number: 7 });
    expect(api.status).toBe(200);
    expect(api.body.by).toBe(ana.actor);
  });

  it('latest_claims lists newest first, for one sequence or all', async () => {
    const ana = await makeAgent(baton, 'latest', 'ana');
    for (const s of ['adr', 'adr', 'release', 'adr']) ok(await ana.call('claim', { sequence: s }));
    const all = ok(await ana.call('latest_claims', {})).claims as {
      sequence: string;
      number: number;
    }[];
    expect(all.map((c) => `${c.sequence}:${c.number}`)).toEqual([
      'adr:3',
      'release:1',
      'adr:2',
      'adr:1',
    ]);
    const adr = ok(await ana.call('latest_claims', { sequence: 'adr', limit: 2 })).claims;
    expect(adr).toEqual([
      expect.objectContaining({ number: 3, formatted: '3', by: ana.actor, note: null, ref: null }),
      expect.objectContaining({ number: 2 }),
    ]);
    expect(err(await ana.call('latest_claims', { sequence: 'nope' })).code).toBe('not_found');
    const api = await ana.api('latest_claims', { sequence: 'release' });
    expect(api.body.claims).toHaveLength(1);
  });

  it('list_sequences shows each with its next formatted id and last claim, and pages', async () => {
    const ana = await makeAgent(baton, 'listing', 'ana');
    ok(await ana.call('seed_sequence', { sequence: 'adr', current: 41, prefix: 'ADR-', pad: 4 }));
    ok(await ana.call('claim', { sequence: 'adr' }));
    ok(await ana.call('seed_sequence', { sequence: 'release', current: 102, prefix: 'R' }));
    const r = ok(await ana.call('list_sequences', {}));
    expect(r).toEqual({
      sequences: [
        {
          sequence: 'adr',
          prefix: 'ADR-',
          pad: 4,
          last_number: 42,
          next_number: 43,
          next_formatted: 'ADR-0043',
          last_claim: {
            number: 42,
            formatted: 'ADR-0042',
            by: ana.actor,
            at: expect.any(String),
          },
        },
        {
          sequence: 'release',
          prefix: 'R',
          pad: 0,
          last_number: 102,
          next_number: 103,
          next_formatted: 'R103',
          last_claim: null,
        },
      ],
      has_more: false,
    });
    const after = ok(await ana.call('list_sequences', { after: 'adr' }));
    expect(after.sequences.map((s: { sequence: string }) => s.sequence)).toEqual(['release']);
    const api = await ana.api('list_sequences', {});
    expect(api.body.sequences).toHaveLength(2);
  });

  it("never shows another project's sequences or claims", async () => {
    const ana = await makeAgent(baton, 'tenant-a', 'ana');
    const cy = await makeAgent(baton, 'tenant-b', 'cy');
    ok(await ana.call('claim', { sequence: 'adr', note: 'secret' }));
    expect(ok(await cy.call('list_sequences', {})).sequences).toEqual([]);
    expect(ok(await cy.call('latest_claims', {})).claims).toEqual([]);
    expect(err(await cy.call('who_claimed', { sequence: 'adr', number: 1 })).code).toBe(
      'not_found',
    );
    // Sequences are per project: cy's adr starts at 1 too.
    expect(ok(await cy.call('claim', { sequence: 'adr' })).number).toBe(1);
  });
});
