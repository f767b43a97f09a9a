import crypto from 'node:crypto';
import { field } from './client.mjs';
import { numbersInTree, renumber } from './config.mjs';
import { oneLine } from './text.mjs';

// Claim reconcile (spec §11): a new file whose name carries a number of a Baton sequence is
// allowed only when that number is the caller's. The caller's own number passes; the next
// number is claimed for the caller and passes; a number someone else holds, or one that skips
// ahead, is refused, and a number is claimed for the caller so the message can name one that is
// really theirs, never a guess another agent could take first. The claim call is the arbiter:
// whatever was read before it, the number it returns is the caller's and no one else's.

const MAX_TEXT = 500;
const clipText = (s) => (s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) : s);

/** The sequence as list_sequences shows it, or undefined when Baton has never heard of it. */
async function findSequence(api, name) {
  let after;
  for (let page = 0; page < 20; page++) {
    const r = await api.call('list_sequences', after === undefined ? {} : { after });
    const list = field(r.body, 'sequences', 'array', 'list_sequences');
    const hit = list.find((s) => s?.sequence === name);
    if (hit) {
      field(hit, 'next_number', 'integer', 'list_sequences');
      return hit;
    }
    if (r.body.has_more !== true || list.length === 0) return undefined;
    after = list[list.length - 1].sequence;
  }
  return undefined;
}

/**
 * A sequence Baton has never seen starts after the highest number the repository already uses,
 * so the first agent to number a file does not get 1 in a directory that reaches 0006. Whoever
 * seeds first wins; a concurrent seeder is refused and reads the winner's state.
 */
async function seedFromTree(api, ctx) {
  const used = numbersInTree(ctx.root, ctx.entry, ctx.exclude);
  const current = used.length > 0 ? Math.max(...used) : 0;
  if (current === 0) return { next_number: 1 };
  const r = await api.call(
    'seed_sequence',
    { sequence: ctx.entry.sequence, current },
    { expect: ['forbidden', 'conflict'] },
  );
  if (r.ok) {
    field(r.body, 'next_number', 'integer', 'seed_sequence');
    ctx.notes.push(
      `seeded \`${ctx.entry.sequence}\` at ${current}, the highest number in the repository`,
    );
    return r.body;
  }
  return (await findSequence(api, ctx.entry.sequence)) ?? { next_number: 1 };
}

async function whoClaimed(api, sequence, number) {
  const r = await api.call('who_claimed', { sequence, number }, { expect: ['not_found'] });
  if (!r.ok) return undefined;
  field(r.body, 'by', 'string', 'who_claimed');
  return r.body;
}

async function claimFor(api, ctx, note, key) {
  const args = { sequence: ctx.entry.sequence, ref: clipText(ctx.path), note: clipText(note) };
  if (key) args.idempotency_key = key;
  const r = await api.call('claim', args);
  return field(r.body, 'number', 'integer', 'claim');
}

/**
 * A refusal. A number is claimed for the caller so the message names one that is theirs; the
 * key makes a retry of the same refused write get the same number back instead of a new one.
 * With BATON_OVERRIDE set the write goes through anyway, so nothing is claimed.
 */
async function refuse(api, ctx, why) {
  const { entry, path, found } = ctx;
  const detail = { path, sequence: entry.sequence, number: found.number };
  if (ctx.override) return { deny: `${path}: ${why}.`, detail };
  const key = `kit:${crypto
    .createHash('sha256')
    .update(JSON.stringify([entry.sequence, found.number, path, ctx.attempt]))
    .digest('hex')}`;
  const mine = await claimFor(api, ctx, `claimed by the Baton kit after ${path} was refused`, key);
  return {
    deny:
      `${path}: ${why}. Baton has just claimed ${mine} of \`${entry.sequence}\` for you: ` +
      useInstead(ctx, mine),
    detail: { ...detail, claimed_for_you: mine },
  };
}

/** What to do with the number claimed for the caller: before a write, or at a commit. */
function useInstead(ctx, number) {
  const to = renumber(ctx.path, ctx.found.digits, number);
  const where = `and use ${number} wherever the document states its number`;
  return ctx.atCommit
    ? `git mv it to ${to} (${where}).`
    : `name the file ${to} instead (${where}).`;
}

/** Who holds a number, as the server says: its text made printable on one line. */
const heldBy = (c) =>
  oneLine(`${c.by}${typeof c.ref === 'string' && c.ref ? ` (for ${clipText(c.ref)})` : ''}`);

/**
 * Decides one new file. ctx: {root, path (relative, "/"-separated), entry, found: {number,
 * digits}, me (actor), exclude (paths not to count when seeding), attempt (what makes a retry
 * the same attempt), atCommit, override, notes}. Resolves to {} (allow) or {deny, detail}.
 */
export async function reconcile(api, ctx, held, known) {
  const { entry, found } = ctx;
  const sequence = entry.sequence;
  if (held) {
    if (held.by === ctx.me) return {};
    return refuse(
      api,
      ctx,
      `${found.number} of \`${sequence}\` is already claimed by ${heldBy(held)}`,
    );
  }
  const state = known ?? (await seedFromTree(api, ctx));
  const next = state.next_number;
  if (found.number < next) {
    // Read in parallel with who_claimed, so a claim may have landed in between: ask again.
    const again = await whoClaimed(api, sequence, found.number);
    if (again?.by === ctx.me) return {};
    if (again) {
      return refuse(
        api,
        ctx,
        `${found.number} of \`${sequence}\` is already claimed by ${heldBy(again)}`,
      );
    }
    return refuse(
      api,
      ctx,
      `${found.number} of \`${sequence}\` was used before Baton kept this sequence (it was seeded past it)`,
    );
  }
  if (found.number > next) {
    return refuse(
      api,
      ctx,
      `${found.number} skips ahead in \`${sequence}\`, whose last number is ${next - 1} ` +
        '(numbers are handed out in order, without gaps)',
    );
  }
  const got = await claimFor(api, ctx, `claimed by the Baton kit for ${ctx.path}`);
  if (got === found.number) {
    ctx.notes.push(`claimed ${got} of \`${sequence}\` for you (${ctx.path})`);
    return {};
  }
  // Lost a race for `next`: someone claimed it between the read and the claim. `got` is ours.
  const winner = await whoClaimed(api, sequence, found.number);
  if (winner?.by === ctx.me) {
    ctx.notes.push(
      `${found.number} of \`${sequence}\` is yours; ${got} was claimed too and is unused`,
    );
    return {};
  }
  return {
    deny:
      `${ctx.path}: ${winner ? oneLine(winner.by) : 'another participant'} claimed ${found.number} of ` +
      `\`${sequence}\` a moment before you. Baton has just claimed ${got} of \`${sequence}\` for ` +
      `you: ${useInstead(ctx, got)}`,
    detail: { path: ctx.path, sequence, number: found.number, claimed_for_you: got },
  };
}

/** Reads what reconcile needs about one file: who holds its number, and the sequence's state. */
export async function lookUp(api, sequence, number) {
  const [held, known] = await Promise.all([
    whoClaimed(api, sequence, number),
    findSequence(api, sequence),
  ]);
  return { held, known };
}

export async function whoAmI(api) {
  const r = await api.call('whoami');
  return field(r.body, 'actor', 'string', 'whoami');
}
