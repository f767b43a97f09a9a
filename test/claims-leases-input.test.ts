import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';
import { makeAgent } from './helpers/agents.js';

// Hostile input for every claims and leases tool: each argument in turn replaced by something a
// confused or malicious client might send. Every answer must be a result or a domain error that
// says what to fix; none may be `internal`, and the server must keep answering.

const baton = useTestBaton({ env: { BATON_RATE_LIMIT: '0' } }); // hundreds of calls from one token

const HOSTILE: unknown[] = [
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  ' ',
  'x'.repeat(100_000),
  '../../etc/passwd',
  '/etc/passwd',
  'C:\\Windows',
  '*'.repeat(512),
  '*a'.repeat(256),
  '**/'.repeat(170),
  '[[[[[[',
  '[!]',
  '[[:nope:]]',
  'lane:',
  'lane:\u0000',
  "'; drop table leases; --",
  -1,
  0,
  1.5,
  2 ** 53,
  1e300,
  null,
  true,
  [],
  ['a.ts', 42],
  {},
  { $gt: '' },
];

const BASE: Record<string, Record<string, unknown>> = {
  claim: { sequence: 'fuzz', note: 'n', ref: 'r', idempotency_key: 'k' },
  seed_sequence: { sequence: 'fuzz-seed', current: 1, prefix: 'F-', pad: 2 },
  latest_claims: { sequence: 'fuzz', limit: 5 },
  list_sequences: { after: 'a' },
  who_claimed: { sequence: 'fuzz', number: 1 },
  lease: { surface: 'fuzz.ts', mode: 'shared', ttl_seconds: 60, note: 'n' },
  release: { surface: 'fuzz.ts', force: false },
  who_holds: { surface: 'fuzz.ts', actor: 'owner/x' },
  check_paths: { paths: ['fuzz.ts'] },
};

describe('hostile input to claims and leases tools', () => {
  it('never produces an internal error', { timeout: 120_000 }, async () => {
    const lead = await makeAgent(baton, 'fuzz', 'lead', { admin: true });
    const internal: unknown[] = [];
    for (const [tool, base] of Object.entries(BASE)) {
      for (const field of [...Object.keys(base), 'extra']) {
        for (const value of HOSTILE) {
          const r = await lead.call(tool, { ...base, [field]: value });
          const error = r.isError ? (r.body.error as { code: string; message: string }) : null;
          if (error?.code === 'internal') internal.push({ tool, field, value, error });
          if (error?.code === 'invalid_argument') expect(error.message).not.toContain('\u0000');
        }
      }
      // Paths lists take hostile items too, one at a time.
      if (tool === 'check_paths') {
        for (const value of HOSTILE) {
          const r = await lead.call(tool, { paths: ['ok.ts', value] });
          if (r.isError && (r.body.error as { code: string }).code === 'internal') {
            internal.push({ tool, field: 'paths.1', value });
          }
        }
      }
    }
    expect(internal).toEqual([]);
    // Still serving, and the hostile surfaces that were valid globs behave as globs.
    expect((await lead.call('whoami')).isError).toBe(false);
  });
});
