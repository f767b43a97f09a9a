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
//    refuse: every tool needs the database, so such a caller can only be told to retry. Under
//    BATON_WORKERS, each worker tells the others what the database said (IdentityPeers), for
//    this use only, since a client's connections may reach any of them.
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
  /** The listener epoch in which it was seen open (as for the entry). */
  epoch: number;
}

interface Entry {
  /** As the database last resolved it, without the session columns. */
  row: AuthRow;
  at: number;
  /** The listener epoch of that confirmation; -1 when a change may have crossed the lookup. */
  epoch: number;
  /** Sessions of this token seen open. */
  sessions: Map<string, SessionSeen>;
  /** When the other workers were last told of it (peers). */
  toldAt: number;
}

/** What one worker of `baton serve` tells the others the database said of a token. */
export interface IdentityNote {
  key: string;
  row: AuthRow;
  sessionId: string | null;
}

/**
 * The other workers of one `baton serve` (src/cluster.ts). What they were told serves only while
 * the database is away: each worker trusts only what it confirmed itself, in its own epoch.
 */
export interface IdentityPeers {
  tell(note: IdentityNote): void;
  hear(fn: (note: IdentityNote) => void): () => void;
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
  peers?: IdentityPeers;
  now?: () => number;
}

export class IdentityMemory {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;
  private readonly listener: IdentityMemoryOptions['listener'];
  private readonly peers: IdentityPeers | undefined;
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
    this.peers = opts.peers;
    if (opts.peers) {
      this.unsubscribe.push(
        opts.peers.hear((n) => this.apply(n.key, n.row, n.sessionId ?? undefined, 'peer')),
      );
    }
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
    const crossed = !mark || mark.epoch !== this.epoch || mark.changes !== this.changes;
    const before = this.entries.get(key);
    const entry = this.apply(key, row, sessionId, crossed ? -1 : this.epoch);
    // The other workers hear of a token new to this one, of a new session, of a token that
    // no longer resolves, and otherwise about once per TRUST_MS.
    if (!this.peers || !row) return;
    const now = this.now();
    const news =
      !entry ||
      !before ||
      (sessionId !== undefined && !before.sessions.has(sessionId)) ||
      now - before.toldAt > TRUST_MS;
    if (!news) return;
    if (entry) entry.toldAt = now;
    this.peers.tell({ key, row, sessionId: sessionId ?? null });
  }

  /** Enters an answer: this worker's own (in `epoch`, -1 for none), or a peer's ('peer'). */
  private apply(
    key: string,
    row: AuthRow | undefined,
    sessionId: string | undefined,
    epoch: number | 'peer',
  ): Entry | undefined {
    if (!row || row.revoked || row.expired) {
      this.entries.delete(key);
      return undefined;
    }
    const open = row.session_participation_id === row.participation_id && !row.session_closed;
    const known = this.entries.get(key);
    if (epoch === 'peer' && known && known.epoch === this.epoch) {
      // This worker's own confirmation stands; a peer adds only a session it had not seen.
      if (sessionId !== undefined && open && !known.sessions.has(sessionId)) {
        this.addSession(known, sessionId, row, -1);
      }
      return known;
    }
    const entry = known ?? {
      row,
      at: 0,
      epoch: -1,
      sessions: new Map<string, SessionSeen>(),
      toldAt: 0,
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
    entry.epoch = epoch === 'peer' ? -1 : epoch;
    if (sessionId !== undefined) {
      if (open) this.addSession(entry, sessionId, row, entry.epoch);
      else entry.sessions.delete(sessionId);
    }
    this.entries.set(key, entry);
    if (this.entries.size > MAX_REMEMBERED_TOKENS) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
    return entry;
  }

  private addSession(entry: Entry, sessionId: string, row: AuthRow, epoch: number): void {
    if (!entry.sessions.has(sessionId) && entry.sessions.size >= MAX_SESSIONS) return;
    entry.sessions.set(sessionId, {
      protocolVersion: row.session_protocol_version,
      lastSeenAt: row.session_last_seen_at,
      epoch,
    });
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
    if (sessionId !== undefined && entry.sessions.get(sessionId)?.epoch !== this.epoch) {
      return undefined;
    }
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
