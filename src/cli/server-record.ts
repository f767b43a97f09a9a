import fs from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { isAlive } from '../db/embedded.js';

// `serve` on the embedded database writes where it listens into its data directory, so the other
// verbs run beside it (seed-token, admin-link) print URLs that reach it, whatever PORT it was
// started with, instead of the default one.

const FILE = 'server.json';

export interface ServerRecord {
  /** The base URL the server answers at: its PUBLIC_URL, or where it listens. */
  url: string;
  pid: number;
  started_at: string;
}

/** Writes the record; the returned function removes it again (if it is still ours). */
export async function recordServer(dataDir: string, url: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, FILE);
  const record: ServerRecord = { url, pid: process.pid, started_at: new Date().toISOString() };
  await fs.writeFile(file, JSON.stringify(record) + '\n', { mode: 0o644 });
  return async () => {
    // Another server on the same data directory may have replaced it since.
    if ((await readRecord(file))?.pid === process.pid) await fs.rm(file, { force: true });
  };
}

async function readRecord(file: string): Promise<ServerRecord | undefined> {
  try {
    const r = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<ServerRecord>;
    if (typeof r.url === 'string' && Number.isInteger(r.pid) && typeof r.started_at === 'string') {
      return r as ServerRecord;
    }
  } catch {
    // missing or unreadable: no server recorded
  }
  return undefined;
}

/** The server recorded in this data directory, if its process is still running. */
async function runningServer(dataDir: string): Promise<ServerRecord | undefined> {
  const r = await readRecord(path.join(dataDir, FILE));
  return r && isAlive(r.pid) ? r : undefined;
}

/**
 * The base URL a verb prints: PUBLIC_URL when it is set; else, on the embedded database, the URL
 * of the server running on this data directory; else the one HOST and PORT make.
 */
export async function publicUrlOf(config: Readonly<Config>): Promise<string> {
  if (config.publicUrlSet || config.databaseUrl) return config.publicUrl;
  return (await runningServer(config.dataDir))?.url ?? config.publicUrl;
}
