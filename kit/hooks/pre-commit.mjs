#!/usr/bin/env node
// git pre-commit hook: the claim check for numbered files the commit adds, and the lease guard
// for every path it touches. Installed by `baton kit install`; see kit/README.md.
import { execFile } from 'node:child_process';
import { connect, resolveConnection } from './lib/client.mjs';
import { ConfigError, loadConfig, numberIn, sequenceFor } from './lib/config.mjs';
import {
  notePending,
  overrideRequested,
  runHook,
  timeLeft,
  Unavailable,
  warn,
} from './lib/hook.mjs';
import { describeConflicts, guardPaths } from './lib/leases.mjs';
import { lookUp, reconcile, whoAmI } from './lib/reconcile.mjs';

const HOOK = 'pre-commit';

function git(args) {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      args,
      {
        timeout: Math.max(Math.floor(timeLeft()), 100),
        maxBuffer: 256 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    );
  });
}

/** `git diff --name-status -z` output: status and path, NUL-separated, no quoting. */
function parseNameStatus(out) {
  const parts = out.split('\0');
  const changes = [];
  for (let i = 0; i + 1 < parts.length; i += 2) {
    if (parts[i]) changes.push({ status: parts[i][0], path: parts[i + 1] });
  }
  return changes;
}

function numberedFiles(root, added) {
  let config;
  try {
    config = loadConfig(root);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    notePending(HOOK, root, err.message, { paths: added });
    return [];
  }
  if (!config) {
    if (added.length > 0) {
      notePending(HOOK, root, 'no baton.config.json in this repository', { paths: added });
    }
    return [];
  }
  try {
    return added.flatMap((path) => {
      const entry = sequenceFor(config, path);
      const found = entry && numberIn(path);
      return found ? [{ path, entry, found }] : [];
    });
  } catch (err) {
    // Globs past their work bound: the claims go unchecked, the lease guard still runs.
    if (!(err instanceof Unavailable)) throw err;
    notePending(HOOK, root, err.message, { paths: added });
    return [];
  }
}

async function checkClaims(api, root, numbered, added) {
  if (numbered.length === 0) return [];
  const [me, head] = await Promise.all([
    whoAmI(api),
    git(['rev-parse', '-q', '--verify', 'HEAD']).catch(() => ''),
  ]);
  const refusals = [];
  const notes = [];
  // One file at a time: 0007 and 0008 added together are claimed in order.
  for (const { path, entry, found } of numbered) {
    const { held, known } = await lookUp(api, entry.sequence, found.number);
    const outcome = await reconcile(
      api,
      {
        root,
        path,
        entry,
        found,
        me,
        exclude: new Set(added),
        // Retrying the same commit gets the same number back.
        attempt: `commit:${head.trim()}`,
        atCommit: true,
        override: overrideRequested(),
        notes,
      },
      held,
      known,
    );
    if (outcome.deny) refusals.push(outcome);
  }
  for (const note of notes) warn(HOOK, note);
  return refusals;
}

const staged = async (against) =>
  parseNameStatus(
    await git(['diff', '--cached', '--name-status', '--no-renames', '-z', ...against]),
  );

/**
 * What this commit itself changes. Concluding a merge, that is only what differs from both
 * parents: files that arrive unchanged from the other branch were checked when they were
 * committed there, and the other branch's new ADR is not a new number of the one merging it.
 */
async function ownChanges() {
  const changes = await staged([]);
  const mergeHead = (
    await git(['rev-parse', '-q', '--verify', 'MERGE_HEAD']).catch(() => '')
  ).trim();
  if (!mergeHead || changes.length === 0) return changes;
  const fromOther = new Map((await staged([mergeHead])).map((c) => [c.path, c.status]));
  return changes
    .filter((c) => fromOther.has(c.path))
    .map((c) => (c.status === 'A' && fromOther.get(c.path) !== 'A' ? { ...c, status: 'M' } : c));
}

await runHook(HOOK, async (state) => {
  state.root = (await git(['rev-parse', '--show-toplevel'])).trim();
  const changes = await ownChanges();
  if (changes.length === 0) return {};
  const paths = changes.map((c) => c.path);
  const added = changes.filter((c) => c.status === 'A').map((c) => c.path);
  state.detail = { paths };
  const numbered = numberedFiles(state.root, added);
  const api = connect(resolveConnection(state.root));

  // An answered check stands even when the other cannot be made; what could not be checked is
  // allowed and noted, never refused.
  const lines = [];
  const detail = {};
  const missed = [];
  const tryCheck = async (check) => {
    try {
      await check();
    } catch (err) {
      if (!(err instanceof Unavailable)) throw err;
      missed.push(err.message);
    }
  };
  await tryCheck(async () => {
    const refusals = await checkClaims(api, state.root, numbered, added);
    for (const r of refusals) lines.push(`  ${r.deny}`);
    if (refusals.length > 0) detail.claims = refusals.map((r) => r.detail);
  });
  await tryCheck(async () => {
    const { conflicts, unchecked } = await guardPaths(api, paths);
    if (conflicts.length > 0) {
      lines.push(describeConflicts(conflicts));
      detail.leases = conflicts.map((c) => ({
        path: c.path,
        holders: c.leases.map((l) => ({
          actor: l.actor,
          surface: l.surface,
          expires_at: l.expires_at,
        })),
      }));
    }
    if (unchecked.length > 0) {
      notePending(HOOK, state.root, 'paths check_paths cannot take', { paths: unchecked });
    }
  });
  if (missed.length > 0 && lines.length === 0) throw new Unavailable(missed.join('; '));
  if (missed.length > 0) notePending(HOOK, state.root, missed.join('; '), { paths });
  if (lines.length === 0) return {};
  return {
    deny: [
      'Baton refused this commit:',
      ...lines,
      'Rename numbered files as told. For leased paths, wait for the lease to end or post to its holder.',
      'To commit anyway, set BATON_OVERRIDE=1; the override is recorded in .baton/overrides.log.',
    ].join('\n'),
    detail,
  };
});
