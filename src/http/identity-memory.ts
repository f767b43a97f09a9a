import type { AuthRow } from '../db/identity.js';

// What this process remembers of tokens it verified, for one purpose only: while the database is
// away, an MCP request from a token seen lately (on a session seen lately) can still be answered
// in MCP's own terms, as a tool result saying `unavailable`, instead of an HTTP failure the client
// library throws on. Nothing is granted from memory that the database could refuse: every tool
// needs the database, so a remembered identity can only be told to retry (or list the tools).
// Whenever the database answers, it decides, and a revoked or expired token is forgotten at once.

/** Tokens remembered per process; the oldest is forgotten first. */
export const MAX_REMEMBERED_TOKENS = 5_000;
/** Sessions remembered per token. */
const MAX_SESSIONS = 64;
/** A token is answered from memory only this long after the database last confirmed it. */
export const REMEMBER_MS = 15 * 60_000;

interface Entry {
  row: AuthRow;
  at: number;
  /** Sessions of this token seen open, with the protocol version each negotiated. */
  sessions: Map<string, string | null>;
}

export class IdentityMemory {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** What the database said of this token (and the session it presented, if any). */
  record(key: string, row: AuthRow | undefined, sessionId: string | undefined): void {
    if (!row || row.revoked || row.expired) {
      this.entries.delete(key);
      return;
    }
    const entry = this.entries.get(key) ?? {
      row,
      at: 0,
      sessions: new Map<string, string | null>(),
    };
    this.entries.delete(key); // re-inserted below: the map's order is the order of last use
    entry.row = row;
    entry.at = this.now();
    if (sessionId !== undefined) {
      const open = row.session_participation_id === row.participation_id && !row.session_closed;
      if (open && (entry.sessions.has(sessionId) || entry.sessions.size < MAX_SESSIONS)) {
        entry.sessions.set(sessionId, row.session_protocol_version);
      }
      if (!open) entry.sessions.delete(sessionId);
    }
    this.entries.set(key, entry);
    if (this.entries.size > MAX_REMEMBERED_TOKENS) {
      this.entries.delete(this.entries.keys().next().value as string);
    }
  }

  /**
   * The identity to answer with while the database is away: the token confirmed within
   * REMEMBER_MS and, when a session is presented, a session of its own that was open then.
   */
  recall(key: string, sessionId: string | undefined): AuthRow | undefined {
    const entry = this.entries.get(key);
    if (!entry || this.now() - entry.at > REMEMBER_MS) return undefined;
    if (sessionId !== undefined && !entry.sessions.has(sessionId)) return undefined;
    if (entry.row.expires_at && entry.row.expires_at.getTime() <= this.now()) return undefined;
    const open = sessionId !== undefined;
    return {
      ...entry.row,
      session_participation_id: open ? entry.row.participation_id : null,
      session_closed: open ? false : null,
      session_last_seen_at: null,
      session_protocol_version: open ? (entry.sessions.get(sessionId) ?? null) : null,
    };
  }

  get size(): number {
    return this.entries.size;
  }
}
