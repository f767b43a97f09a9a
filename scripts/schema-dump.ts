// The committed schema dump: migrations/schema.sql is `pg_dump --schema-only` of a database
// migrated from scratch. `--write` regenerates it; `--check` fails when the migrations and the
// committed file disagree, so a schema change is always visible in review.
//
// pg_dump refuses servers newer than itself, so the dump is taken from a throwaway cluster
// started with the binaries that sit beside pg_dump (Debian: /usr/lib/postgresql/<v>/bin;
// `apt-get install postgresql` provides them; PG_BINDIR overrides). That also proves the
// migrations apply on that major version, not only on the embedded one.

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../src/db/embedded.js';
import { migrateToLatest } from '../src/db/migrate.js';
import { openStorage } from '../src/db/pool.js';
import { createLogger } from '../src/log.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const DUMP_FILE = path.join(ROOT, 'migrations', 'schema.sql');

function findBinDir(): string {
  const candidates = process.env.PG_BINDIR
    ? [process.env.PG_BINDIR]
    : existsSync('/usr/lib/postgresql')
      ? readdirSync('/usr/lib/postgresql')
          .filter((v) => /^\d+$/.test(v))
          .sort((a, b) => Number(b) - Number(a))
          .map((v) => `/usr/lib/postgresql/${v}/bin`)
      : [];
  const found = candidates.find((d) =>
    ['pg_dump', 'initdb', 'pg_ctl'].every((b) => existsSync(path.join(d, b))),
  );
  if (!found) {
    throw new Error(
      'no PostgreSQL server binaries with pg_dump found; install them (Debian: apt-get install -y postgresql) or set PG_BINDIR',
    );
  }
  return found;
}

function runAs(): { uid?: number; gid?: number } {
  if (process.getuid?.() !== 0) return {};
  // PostgreSQL will not run as root: use the postgres system user, creating it if needed.
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}

function run(
  bin: string,
  args: string[],
  opts: { as: { uid?: number; gid?: number } },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { ...opts.as, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(out)
        : reject(
            new Error(
              `${path.basename(bin)} failed (${code}): ${err.trim().split('\n').slice(-3).join(' | ')}`,
            ),
          ),
    );
  });
}

/** Drops what varies between runs and versions: pg_dump's random \restrict keys and banners. */
export function normalise(dump: string): string {
  return (
    dump
      .split('\n')
      .filter((l) => !/^\\(un)?restrict /.test(l) && !/^-- Dumped (from|by) /.test(l))
      .join('\n')
      .replace(/\n{3,}/g, '\n\n')
      .trim() + '\n'
  );
}

export async function dumpSchema(): Promise<string> {
  const bin = findBinDir();
  const as = runAs();
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'baton-schema-'));
  const data = path.join(dir, 'data');
  await fs.mkdir(data, { mode: 0o700 });
  await fs.chmod(dir, 0o755);
  if (as.uid !== undefined) await fs.chown(data, as.uid, as.gid ?? as.uid);
  const port = await freePort();
  const ctl = path.join(bin, 'pg_ctl');
  try {
    await run(
      path.join(bin, 'initdb'),
      ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C'],
      { as },
    );
    await run(
      ctl,
      [
        '-D',
        data,
        '-w',
        '-l',
        path.join(data, 'log'),
        '-o',
        `-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off`,
        'start',
      ],
      { as },
    );
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const storage = openStorage({ url, max: 1, log: createLogger('silent') });
    try {
      await migrateToLatest(storage.db);
    } finally {
      await storage.close();
    }
    const dump = await run(
      path.join(bin, 'pg_dump'),
      [
        '--schema-only',
        '--no-owner',
        '--no-privileges',
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '-U',
        'postgres',
        'postgres',
      ],
      { as: {} },
    );
    return normalise(dump);
  } finally {
    await run(ctl, ['-D', data, '-m', 'fast', '-w', 'stop'], { as }).catch(() => {});
    await fs.rm(dir, { recursive: true, force: true });
  }
}

async function main(mode: string | undefined): Promise<number> {
  if (mode !== '--write' && mode !== '--check') {
    process.stderr.write('usage: schema-dump --write | --check\n');
    return 2;
  }
  const fresh = await dumpSchema();
  if (mode === '--write') {
    await fs.writeFile(DUMP_FILE, fresh);
    process.stdout.write(`wrote ${path.relative(ROOT, DUMP_FILE)}\n`);
    return 0;
  }
  const committed = await fs.readFile(DUMP_FILE, 'utf8').catch(() => '');
  if (committed === fresh) {
    process.stdout.write('migrations/schema.sql matches the migrations\n');
    return 0;
  }
  const a = committed.split('\n');
  const b = fresh.split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  process.stderr.write(
    `migrations/schema.sql differs from the migrated schema at line ${at + 1}:\n` +
      `  committed: ${a[at] ?? '(end of file)'}\n  migrated:  ${b[at] ?? '(end of file)'}\n` +
      'run `npm run schema:dump` and commit the result\n',
  );
  return 1;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  main(process.argv[2]).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`schema-dump: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
