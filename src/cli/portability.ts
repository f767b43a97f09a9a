import fs from 'node:fs';
import readline from 'node:readline';
import { z } from 'zod';
import { ensureOwner } from '../auth/provision.js';
import {
  insertEvents,
  projectEvents,
  projectHasEvents,
  projectsBySlug,
  trimEvents,
  type PortableEvent,
} from '../db/export.js';
import { findProject, insertProject } from '../db/identity.js';
import { advisoryXactLock } from '../db/locks.js';
import { transact, type Db } from '../db/pool.js';
import { SLUG } from '../names.js';
import { parse, UsageError, type Verb } from './common.js';
import { withServerDatabase } from './database.js';

// `baton export` writes a project's ledger as JSON lines; `baton import` loads such a file into
// a project that has no ledger yet, and refuses to overwrite one that has.

async function pickProject(db: Db, slug: string, owner: string | undefined) {
  if (!SLUG.safeParse(slug).success)
    throw new UsageError('--project must be a slug (a-z, 0-9 and -)');
  const matches = (await projectsBySlug(db, slug)).filter(
    (p) =>
      owner === undefined || p.handle === owner || p.email.toLowerCase() === owner.toLowerCase(),
  );
  if (matches.length === 0) throw new Error(`no project "${slug}"${owner ? ` of ${owner}` : ''}`);
  if (matches.length > 1) {
    throw new UsageError(
      `several owners have a project "${slug}" (${matches.map((m) => m.handle).join(', ')}); add --owner <handle>`,
    );
  }
  return matches[0] as (typeof matches)[number];
}

export const exportVerb: Verb = {
  name: 'export',
  usage:
    'baton export --project <slug> [--owner <handle|email>] [--out <file> [--trim]]\n\n' +
    'One event per line, oldest first, to stdout or --out (a new file). --trim then removes the\n' +
    'exported events from the ledger; later events keep their seq.',
  async run(argv) {
    const a = parse(
      exportVerb,
      argv,
      {
        project: { type: 'string' },
        owner: { type: 'string' },
        out: { type: 'string' },
        trim: { type: 'boolean' },
      },
      { min: 0, max: 0 },
    );
    if (typeof a.values.project !== 'string') throw new UsageError('--project <slug> is required');
    if (a.values.trim && typeof a.values.out !== 'string') {
      throw new UsageError('--trim needs --out <file>, so the trimmed events are kept somewhere');
    }
    return withServerDatabase(async (db) => {
      const project = await pickProject(
        db,
        a.values.project as string,
        a.values.owner as string | undefined,
      );
      // Opened synchronously so an existing file is a clear one-line refusal, never overwritten.
      const out: NodeJS.WritableStream = a.values.out
        ? fs.createWriteStream('', { fd: fs.openSync(a.values.out as string, 'wx', 0o600) })
        : process.stdout;
      let n = 0;
      let last = 0;
      for await (const e of projectEvents(db, project.id)) {
        if (!out.write(JSON.stringify(e) + '\n'))
          await new Promise<void>((r) => out.once('drain', () => r()));
        n++;
        last = e.seq;
      }
      if (out !== process.stdout) await new Promise<void>((r) => out.end(() => r()));
      process.stderr.write(`exported ${n} event(s) of ${project.handle}/${project.slug}\n`);
      if (a.values.trim && n > 0) {
        const removed = await trimEvents(db, project.id, last);
        process.stderr.write(`trimmed ${removed} event(s) through seq ${last} from the ledger\n`);
      }
      return 0;
    });
  },
};

const LINE = z.strictObject({
  seq: z.number().int().positive(),
  type: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/),
  actor: z.string().min(1).max(100),
  at: z.iso.datetime({ offset: true }),
  task_id: z.number().int().positive().nullable(),
  post_id: z.number().int().positive().nullable(),
  lease_id: z.number().int().positive().nullable(),
  sequence: z.string().max(64).nullable(),
  ref: z.string().max(500).nullable(),
  tag: z.string().max(64).nullable(),
  data: z.record(z.string(), z.unknown()),
});

async function readEvents(file: string | undefined): Promise<PortableEvent[]> {
  const input = file ? fs.createReadStream(file) : process.stdin;
  const events: PortableEvent[] = [];
  let lineNo = 0;
  for await (const line of readline.createInterface({ input, crlfDelay: Infinity })) {
    lineNo++;
    if (line.trim() === '') continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      throw new Error(`line ${lineNo} is not JSON`);
    }
    const r = LINE.safeParse(parsed);
    if (!r.success)
      throw new Error(
        `line ${lineNo}: ${r.error.issues.map((i) => `${i.path.join('.') || 'event'}: ${i.message}`).join('; ')}`,
      );
    const expected = events.length === 0 ? r.data.seq : (events[events.length - 1]?.seq ?? 0) + 1;
    if (events.length > 0 && r.data.seq !== expected)
      throw new Error(
        `line ${lineNo}: seq ${r.data.seq} where ${expected} was expected; the ledger must be dense`,
      );
    events.push(r.data);
  }
  if (events.length > 0 && events[0]?.seq !== 1)
    throw new Error(
      `the export starts at seq ${events[0]?.seq}; only a whole ledger (from seq 1) can be imported`,
    );
  return events;
}

export const importVerb: Verb = {
  name: 'import',
  usage:
    'baton import --project <slug> --owner <email> [--in <file>]\n\n' +
    'Creates the owner and project when missing; refuses a project that already has events.',
  async run(argv) {
    const a = parse(
      importVerb,
      argv,
      { project: { type: 'string' }, owner: { type: 'string' }, in: { type: 'string' } },
      { min: 0, max: 0 },
    );
    const slug = a.values.project;
    const email = a.values.owner;
    if (typeof slug !== 'string' || !SLUG.safeParse(slug).success)
      throw new UsageError('--project <slug> is required (a-z, 0-9 and -)');
    if (typeof email !== 'string') throw new UsageError('--owner <email> is required');
    const events = await readEvents(a.values.in as string | undefined);
    return withServerDatabase(async (db) => {
      const { owner } = await ensureOwner(db, email);
      await transact(db, async (trx) => {
        await advisoryXactLock(trx, 'owner-projects', owner.id);
        const project =
          (await findProject(trx, owner.id, slug)) ??
          (await insertProject(trx, owner.id, slug, slug));
        if (await projectHasEvents(trx, project.id)) {
          throw new Error(
            `project ${owner.handle}/${slug} already has a ledger; import refuses to overwrite it`,
          );
        }
        await insertEvents(trx, project.id, events);
      });
      process.stderr.write(`imported ${events.length} event(s) into ${owner.handle}/${slug}\n`);
      return 0;
    });
  },
};
