import { describe, expect, it } from 'vitest';
import type { AuthRow } from '../src/db/identity.js';
import {
  IdentityMemory,
  MAX_REMEMBERED_TOKENS,
  REMEMBER_MS,
  TRUST_MS,
} from '../src/http/identity-memory.js';

// What a process may answer from memory: while the database is away, only tokens (and sessions)
// the database confirmed lately, and never one it has since called revoked or expired; instead
// of the database, only while the ledger listener hears, and never across an access notice.

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
    const memory = new IdentityMemory({ now: () => now });
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

/** A listener as the memory sees it: whether it hears, and its two kinds of notice. */
function fakeListener() {
  const hearingFns = new Set<(h: boolean) => void>();
  const accessFns = new Set<(p: string) => void>();
  return {
    hearing: true,
    onHearingChange(fn: (h: boolean) => void) {
      hearingFns.add(fn);
      return () => hearingFns.delete(fn);
    },
    onAccessChange(fn: (p: string) => void) {
      accessFns.add(fn);
      return () => accessFns.delete(fn);
    },
    setHearing(h: boolean) {
      this.hearing = h;
      for (const fn of hearingFns) fn(h);
    },
    access(projectId: string) {
      for (const fn of accessFns) fn(projectId);
    },
  };
}

describe('identity memory, instead of the database', () => {
  it('trusts a confirmed token only while the listener hears, for TRUST_MS', () => {
    let now = 1_000_000;
    const listener = fakeListener();
    const memory = new IdentityMemory({ listener, now: () => now });
    memory.record('k', row(), undefined, memory.mark());
    expect(memory.trusted('k', undefined)).toMatchObject({ token_id: '1' });
    listener.setHearing(false);
    expect(memory.trusted('k', undefined)).toBeUndefined();
    // Hearing again is not enough: a notice may have been missed meanwhile.
    listener.setHearing(true);
    expect(memory.trusted('k', undefined)).toBeUndefined();
    memory.record('k', row(), undefined, memory.mark());
    expect(memory.trusted('k', undefined)).toBeDefined();
    now += TRUST_MS + 1;
    expect(memory.trusted('k', undefined)).toBeUndefined();
    // The outage memory lasts longer.
    expect(memory.recall('k', undefined)).toBeDefined();
  });

  it('forgets a project on its access notice, and distrusts a lookup the notice crossed', () => {
    const listener = fakeListener();
    const memory = new IdentityMemory({ listener });
    memory.record('mine', row({ project_id: '1' }), undefined, memory.mark());
    memory.record('other', row({ project_id: '2', token_id: '9' }), undefined, memory.mark());
    const crossed = memory.mark();
    listener.access('1');
    expect(memory.trusted('mine', undefined)).toBeUndefined();
    expect(memory.recall('mine', undefined)).toBeUndefined();
    expect(memory.trusted('other', undefined)).toBeDefined();
    // A lookup that began before the notice may have read the old state.
    memory.record('mine', row({ project_id: '1' }), undefined, crossed);
    expect(memory.trusted('mine', undefined)).toBeUndefined();
    memory.record('mine', row({ project_id: '1' }), undefined, memory.mark());
    expect(memory.trusted('mine', undefined)).toBeDefined();
  });

  it('trusts only sessions seen open since the listener last started hearing, and never an expired token', () => {
    let now = 1_000_000;
    const listener = fakeListener();
    const memory = new IdentityMemory({ listener, now: () => now });
    const open = { session_participation_id: '7', session_closed: false };
    memory.record('k', row(open), 'sess-a', memory.mark());
    expect(memory.trusted('k', 'sess-a')).toMatchObject({ session_participation_id: '7' });
    expect(memory.trusted('k', 'sess-b')).toBeUndefined();
    listener.setHearing(false);
    listener.setHearing(true);
    memory.record('k', row(), undefined, memory.mark());
    expect(memory.trusted('k', undefined)).toBeDefined();
    expect(memory.trusted('k', 'sess-a')).toBeUndefined();
    memory.record('k', row({ ...open, expires_at: new Date(now + 1000) }), 'sess-a', memory.mark());
    expect(memory.trusted('k', 'sess-a')).toBeDefined();
    now += 1000;
    expect(memory.trusted('k', 'sess-a')).toBeUndefined();
    expect(memory.trusted('k', undefined)).toBeUndefined();
  });

  it('without a listener, never stands in for the database', () => {
    const memory = new IdentityMemory();
    memory.record('k', row(), undefined, memory.mark());
    expect(memory.trusted('k', undefined)).toBeUndefined();
    expect(memory.recall('k', undefined)).toBeDefined();
  });
});
