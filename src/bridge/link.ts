import type { Logger } from '../log.js';

// What the bridge needs of a connection to the remote Baton, in either era of MCP: a push
// stream, opened (again) on demand, and requests.

export interface LinkOptions {
  /** The MCP URL as configured (its ?tools= profile applies to the client's tools). */
  url: URL;
  token: string;
  log: Logger;
  clientInfo: { name: string; version: string };
  /** A stream silent this long is presumed dead; the server writes a heartbeat every 20 s. */
  idleMs: number;
  /** A notification for the stdio client (a channel push). */
  onNotification(method: string, params: unknown): void;
  /** The push stream ended or broke: the link is down. Not called after drop() or close(). */
  onStreamEnd(err: Error): void;
}

export interface Link {
  /** The era and revision, for the log. */
  readonly era: string;
  /**
   * Opens the push stream (and whatever it stands on). Throws LinkFailed, LinkGone or
   * RemoteRefused (src/bridge/wire.ts).
   */
  open(): Promise<void>;
  /** One request; throws as the errors of src/bridge/wire.ts say. */
  request(method: string, params: unknown, signal?: AbortSignal): Promise<unknown>;
  /** Ends the push stream on purpose (the link is being replaced or reopened). */
  drop(): void;
  close(): Promise<void>;
}
