import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.js';

// A real PgBouncer in transaction mode in front of one PostgreSQL, as managed platforms hand
// them out. Debian's (1.18) is what CI installs: it has no max_prepared_statements and refuses
// startup parameters it does not know, such as statement_timeout.

/** The pgbouncer binary, or undefined when it is not installed. */
export const PGBOUNCER: string | undefined = [
  '/usr/sbin/pgbouncer',
  '/usr/bin/pgbouncer',
  '/usr/local/bin/pgbouncer',
].find((p) => existsSync(p));

export interface Bouncer {
  /** The target's URL with PgBouncer's address instead. */
  url: string;
  /** What PgBouncer has logged so far. */
  output(): string;
  stop(): Promise<void>;
}

/** The uid and gid to run as: PgBouncer refuses to run as root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
  return { uid: id('-u'), gid: id('-g') };
}

export async function startPgBouncer(target: string): Promise<Bouncer> {
  if (!PGBOUNCER) throw new Error('pgbouncer is not installed (apt-get install pgbouncer)');
  const upstream = new URL(target);
  const user = decodeURIComponent(upstream.username);
  const database = upstream.pathname.slice(1);
  const password = decodeURIComponent(upstream.password);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-pgbouncer-'));
  const port = await freePort();
  const quote = (s: string) => `"${s.replace(/"/g, '""')}"`;
  await fs.writeFile(path.join(dir, 'userlist.txt'), `${quote(user)} ${quote(password)}\n`);
  await fs.writeFile(
    path.join(dir, 'pgbouncer.ini'),
    [
      // The configuration SELFHOSTING.md shows, but for addresses.
      '[databases]',
      `${database} = host=${upstream.hostname} port=${upstream.port} dbname=${database}`,
      '',
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = scram-sha-256',
      `auth_file = ${path.join(dir, 'userlist.txt')}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 40',
      '',
    ].join('\n'),
  );
  const as = runAs();
  if (as) {
    await fs.chown(dir, as.uid, as.gid);
    for (const f of ['userlist.txt', 'pgbouncer.ini']) {
      await fs.chown(path.join(dir, f), as.uid, as.gid);
    }
  }
  const child = spawn(PGBOUNCER, [path.join(dir, 'pgbouncer.ini')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...as,
  });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; !(await accepts(port)); i++) {
    if (gone || i > 200) {
      child.kill();
      throw new Error(`pgbouncer did not start:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = new URL(target);
  url.port = String(port);
  return {
    url: url.toString(),
    output: () => output,
    stop: async () => {
      if (!gone) {
        child.kill('SIGINT');
        await exited;
      }
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
