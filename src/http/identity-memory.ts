import type { AuthRow } from '../db/identity.js';
import { ACCESS_CHANNEL } from '../db/ledger.js';
import type { LedgerListener } from '../db/notify.js';
import { onCommittedNotice, type Storage } from '../db/pool.js';

// What this process remembers of the tokens it resolved: one memory, two uses, each with its rule.
//
// 1. Instead of the database (`trusted`): a token the database confirmed within TRUST_MS, while
//    the ledger listener hears and has heard without a break since then, is resolved from here,
//    so a tool call costs its own statement and no token lookup. Every change to who may act in
//    a project (revocation, rotation, a deleted participant, changed rights or names, an ended
//    session) notifies ACCESS_CHANNEL at commit; on that notice every process forgets the
//    project's tokens, and the process that committed it does so before its caller goes on. A
//    listener that stops hearing could miss a notice, so then nothing is trusted until the
//    database confirms each token again. Expiry is checked against this process's clock.
// 2. While the database is away (`recall`): a token (and session) confirmed within REMEMBER_MS
//    can still be answered in MCP's own terms, as a tool result saying `unavailable`, instead of
//    an HTTP failure the client library throws on. Nothing is granted that the database could
//    refuse: every tool needs the database, so such a caller can only be told to retry.
//
// Whenever the database answers, it decides: a token it calls unknown, revoked or expired is
// forgotten at once.

/** Tokens remembered per process; the least recently confirmed is forgotten first. */
export const MAX_REMEMBERED_TOKENS = 5_000;
/** Sessions remembered per token. */
const MAX_SESSIONS = 64;
/** A token is resolved from memory, instead of the database, this long after it confirmed it. */
export const TRUST_MS = 60_000;
/** While the database is away, a token is answered from memory this long after it confirmed it. */
export const REMEMBER_MS = 15 * 60_000;

interface SessionSeen {
  protocolVersion: string | null;
  lastSeenAt: Date | null;
}

interface Entry {
  /** As the database last resolved it, without the session columns. */
  row: AuthRow;
  at: number;
  /** The listener epoch of that confirmation; -1 when a change may have crossed the lookup. */
  epoch: number;
  /** Sessions of this token seen open. */
  sessions: Map<string, SessionSeen>;
}

/** Taken before a database lookup, handed back with its answer to record(). */
export interface LookupMark {
  epoch: number;
  changes: number;
}

export interface IdentityMemoryOptions {
  /** Without a listener, nothing is trusted: the memory serves outages only. */
  listener?: Pick<LedgerListener, 'hearing' | 'onHearingChange' | 'onAccessChange'>;
  /** The pool whose commits this process makes: their access changes apply at once. */
  pool?: Storage['pool'];
  now?: () => number;
}

export class IdentityMemory {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly listener: IdentityMemoryOptions['listener'];
  /** Bumped whenever the listener starts or stops hearing: what was trusted before is not. */
  private epoch = 0;
  /** Bumped on every access change: a lookup that a change crossed is not trusted. */
  private changes = 0;
  private readonly unsubscribe: (() => void)[] = [];
  /** Token resolutions by where the answer came from (a metrics counter reads them). */
  readonly resolved = { database: 0, memory: 0, outage: 0 };

  constructor(opts: IdentityMemoryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.listener = opts.listener;
    if (opts.listener) {
      this.unsubscribe.push(
        opts.listener.onHearingChange(() => this.epoch++),
        opts.listener.onAccessChange((projectId) => this.forgetProject(projectId)),
      );
    }
    if (opts.pool) {
      this.unsubscribe.push(
        onCommittedNotice(opts.pool, ACCESS_CHANNEL, (projectId) => this.forgetProject(projectId)),
      );
    }
  }

  /** Before looking a token up: what record() compares against to know nothing crossed it. */
  mark(): LookupMark {
    return { epoch: this.epoch, changes: this.changes };
  }

  /** What the database said of this token (and the session it presented, if any). */
  record(
    key: string,
    row: AuthRow | undefined,
    sessionId: string | undefined,
    mark?: LookupMark,
  ): void {
    this.resolved.database++;
    if (!row || row.revoked || row.expired) {
      this.entries.delete(key);
      return;
    }
    const entry = this.entries.get(key) ?? {
      row,
      at: 0,
      epoch: -1,
      sessions: new Map<string, SessionSeen>(),
    };
    this.entries.delete(key); // re-inserted below: the map's order is the order of last use
    entry.row = {
      ...row,
      session_participation_id: null,
      session_closed: null,
      session_last_seen_at: null,
      session_protocol_version: null,
    };
    entry.at = this.now();
    // Sessions seen in another epoch, or before a change, may have ended unheard since.
    const crossed = !mark || mark.epoch !== this.epoch || mark.changes !== this.changes;
    if (crossed || entry.epoch !== this.epoch) entry.sessions.clear();
    entry.epoch = crossed ? -1 : this.epoch;
    if (sessionId !== undefined) {
      const open = row.session_participation_id === row.participation_id && !row.session_closed;
      if (open && (entry.sessions.has(sessionId) || entry.sessions.size < MAX_SESSIONS)) {
        entry.sessions.set(sessionId, {
          protocolVersion: row.session_protocol_version,
          lastSeenAt: row.session_last_seen_at,
        });
      }
      if (!open) entry.sessions.delete(sessionId);
    }
    this.entries.set(key, entry);
    if (this.entries.size > MAX_REMEMBERED_TOKENS) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  /**
   * The identity to use instead of asking the database: confirmed within TRUST_MS by a lookup
   * nothing crossed, with the listener hearing throughout since; not expired by this clock; and,
   * when a session is presented, a session of its own that was open then.
   */
  trusted(key: string, sessionId: string | undefined): AuthRow | undefined {
    if (!this.listener?.hearing) return undefined;
    const entry = this.entries.get(key);
    if (!entry || entry.epoch !== this.epoch) return undefined;
    const now = this.now();
    if (now - entry.at > TRUST_MS) return undefined;
    const row = this.answer(entry, sessionId, now);
    if (row) this.resolved.memory++;
    return row;
  }

  /**
   * The identity to answer with while the database is away: the token confirmed within
   * REMEMBER_MS and, when a session is presented, a session of its own that was open then.
   */
  recall(key: string, sessionId: string | undefined): AuthRow | undefined {
    const entry = this.entries.get(key);
    const now = this.now();
    if (!entry || now - entry.at > REMEMBER_MS) return undefined;
    const row = this.answer(entry, sessionId, now);
    if (row) this.resolved.outage++;
    return row;
  }

  /** The token's liveness was just written: the debounce reads this time from now on. */
  livenessWritten(key: string, at: Date): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.row.last_seen_at = at;
    entry.row.token_last_used_at = at;
  }

  /** The same for a session's last use. */
  sessionUseWritten(key: string, sessionId: string, at: Date): void {
    const session = this.entries.get(key)?.sessions.get(sessionId);
    if (session) session.lastSeenAt = at;
  }

  /** Forgets every token of the project: its access changed. */
  forgetProject(projectId: string): void {
    this.changes++;
    for (const [key, entry] of this.entries) {
      if (entry.row.project_id === projectId) this.entries.delete(key);
    }
  }

  close(): void {
    for (const fn of this.unsubscribe.splice(0)) fn();
  }

  get size(): number {
    return this.entries.size;
  }

  private answer(entry: Entry, sessionId: string | undefined, now: number): AuthRow | undefined {
    if (entry.row.expires_at && entry.row.expires_at.getTime() <= now) return undefined;
    if (sessionId === undefined) return entry.row;
    const session = entry.sessions.get(sessionId);
    if (!session) return undefined;
    return {
      ...entry.row,
      session_participation_id: entry.row.participation_id,
      session_closed: false,
      session_last_seen_at: session.lastSeenAt,
      session_protocol_version: session.protocolVersion,
    };
  }
}
