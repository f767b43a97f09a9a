import { describe, expect, it } from 'vitest';
import type { AuthRow } from '../src/db/identity.js';
import { IdentityMemory, MAX_REMEMBERED_TOKENS, REMEMBER_MS } from '../src/http/identity-memory.js';

// What a process may answer from memory while the database is away: only tokens (and sessions)
// the database confirmed lately, and never one it has since called revoked or expired.

const row = (over: Partial<AuthRow> = {}): AuthRow => ({
  token_id: '1',
  project_id: '1',
  participation_id: '7',
  participant_id: '3',
  project_slug: 'p',
  handle: 'h',
  label: 'l',
  kind: 'agent',
  lane: null,
  is_admin: false,
  last_seen_at: null,
  token_last_used_at: null,
  revoked: false,
  expires_at: null,
  expired: false,
  session_participation_id: null,
  session_closed: null,
  session_last_seen_at: null,
  session_protocol_version: null,
  ...over,
});

describe('identity memory', () => {
  it('recalls a token and its open sessions, with the version each negotiated', () => {
    const memory = new IdentityMemory();
    memory.record('k', row(), undefined);
    memory.record(
      'k',
      row({
        session_participation_id: '7',
        session_closed: false,
        session_protocol_version: '2025-03-26',
      }),
      'sess-a',
    );
    expect(memory.recall('k', undefined)?.session_participation_id).toBeNull();
    expect(memory.recall('k', 'sess-a')).toMatchObject({
      session_participation_id: '7',
      session_closed: false,
      session_protocol_version: '2025-03-26',
    });
    // A session it never saw open, or saw closed, or another identity's, is not vouched for.
    expect(memory.recall('k', 'sess-b')).toBeUndefined();
    memory.record('k', row({ session_participation_id: '7', session_closed: true }), 'sess-a');
    expect(memory.recall('k', 'sess-a')).toBeUndefined();
    memory.record('k', row({ session_participation_id: '8', session_closed: false }), 'sess-c');
    expect(memory.recall('k', 'sess-c')).toBeUndefined();
  });

  it('forgets a token the database calls unknown, revoked or expired, and one not confirmed lately', () => {
    let now = 1_000_000;
    const memory = new IdentityMemory(() => now);
    memory.record('revoked', row(), undefined);
    memory.record('revoked', row({ revoked: true }), undefined);
    expect(memory.recall('revoked', undefined)).toBeUndefined();
    memory.record('expired', row(), undefined);
    memory.record('expired', row({ expired: true }), undefined);
    expect(memory.recall('expired', undefined)).toBeUndefined();
    memory.record('deleted', row(), undefined);
    memory.record('deleted', undefined, undefined); // the token no longer resolves
    expect(memory.recall('deleted', undefined)).toBeUndefined();
    memory.record('expiring', row({ expires_at: new Date(now + 1000) }), undefined);
    memory.record('old', row(), undefined);
    now += 2000;
    expect(memory.recall('expiring', undefined)).toBeUndefined();
    expect(memory.recall('old', undefined)).toBeDefined();
    now += REMEMBER_MS;
    expect(memory.recall('old', undefined)).toBeUndefined();
  });

  it(`holds at most ${MAX_REMEMBERED_TOKENS} tokens, forgetting the least recently confirmed`, () => {
    const memory = new IdentityMemory();
    memory.record('first', row(), undefined);
    memory.record('second', row(), undefined);
    memory.record('first', row(), undefined); // confirmed again: now the most recent
    for (let i = 0; i < MAX_REMEMBERED_TOKENS - 1; i++) memory.record(`t${i}`, row(), undefined);
    expect(memory.size).toBe(MAX_REMEMBERED_TOKENS);
    expect(memory.recall('second', undefined)).toBeUndefined();
    expect(memory.recall('first', undefined)).toBeDefined();
  });
});
