import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { appendInside, Refused } from './files.mjs';
import { printable } from './text.mjs';

// What every hook shares: one time budget for the whole run, the two outcomes a hook can have
// (allow, or deny with a message the agent or the committer reads), and failing open. These
// scripts run in other people's repositories with nothing installed, so they use Node alone.

/** The whole run, counted from process start, so Node's own start-up is inside it (spec §11). */
export const BUDGET_MS = 1500;
/** Kept back from the budget to write logs and exit after the last answer. */
const RESERVE_MS = 150;

/**
 * A denial is exit code 2 with the reason on stderr. Claude Code blocks the tool call and hands
 * stderr to the model; git refuses the commit and shows stderr to whoever committed. One code
 * path thus serves both callers, and nothing printed on stdout can turn a denial into an allow.
 */
export const DENY_EXIT = 2;

/** Milliseconds left for talking to Baton. */
export function timeLeft() {
  return BUDGET_MS - RESERVE_MS - performance.now();
}

/** Baton could not be consulted: unreachable, too slow, or an answer that makes no sense. */
export class Unavailable extends Error {}

export function overrideRequested(env = process.env) {
  return /^(1|true|yes)$/i.test((env.BATON_OVERRIDE ?? '').trim());
}

/**
 * A JSON line for a log. Besides what JSON escapes, `$`, backquotes and the controls JSON leaves
 * alone are written as \u escapes: the line stays the same JSON, and no text in it (a glob of
 * baton.config.json, a server's message) can run as a command substitution should the line
 * ever land in a file a shell reads, or move the cursor of a terminal that shows it.
 */
function logLine(record) {
  const json = JSON.stringify({ at: new Date().toISOString(), ...record });
  return (
    json.replace(
      /[$`\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
    ) + '\n'
  );
}

/**
 * Appends one JSON line to .baton/<file>; a log that cannot be written must not stop work. A
 * `.baton` or log that is a symbolic link is never followed (see files.mjs): the hook says so.
 */
function appendLog(hook, root, file, record) {
  try {
    appendInside(root, `.baton/${file}`, logLine(record));
    return true;
  } catch (err) {
    if (err instanceof Refused) warn(hook, `not logged: ${err.message}.`);
    return false;
  }
}

function warn(hook, text) {
  process.stderr.write(printable(`baton ${hook}: ${text}\n`));
}

/** The directory holding baton.config.json, else the repository root, else `start`. */
export function findRoot(start) {
  let dir = path.resolve(start);
  let repo;
  for (;;) {
    if (fs.existsSync(path.join(dir, 'baton.config.json'))) return dir;
    if (repo === undefined && fs.existsSync(path.join(dir, '.git'))) repo = dir;
    const parent = path.dirname(dir);
    if (parent === dir) return repo ?? path.resolve(start);
    dir = parent;
  }
}

/** The JSON object Claude Code writes on a hook's stdin ({} when run by hand from a terminal). */
export async function readHookInput() {
  if (process.stdin.isTTY) return {};
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  const input = JSON.parse(text);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new Error('the hook input on stdin is not a JSON object');
  }
  return input;
}

/** Warns that Baton was not consulted about something, and notes it in .baton/pending.log. */
export function notePending(hook, root, reason, detail = {}) {
  const logged = appendLog(hook, root, 'pending.log', { hook, reason, ...detail });
  warn(
    hook,
    `Baton was not consulted (${reason}); allowed` +
      (logged ? ', and noted in .baton/pending.log' : '') +
      '.',
  );
}

function describe(err) {
  if (err instanceof Unavailable) return err.message;
  const first = String(err instanceof Error ? err.message : err).split('\n')[0];
  return `internal fault in the hook: ${first}`;
}

/**
 * Runs a hook and turns its outcome into output and an exit code. `body(state)` returns
 * `{deny, detail}`, `{stdout}` or nothing (allow), and may set `state.root` (where logs go),
 * `state.detail` (what a fail-open line should record) and `state.failOpenOutput(reason)` (what
 * to print when failing open). Whatever it throws, and whatever outlasts the budget, is allowed.
 */
export async function runHook(hook, body) {
  const state = { root: process.cwd(), detail: {}, failOpenOutput: () => '' };
  const failOpen = (reason) => {
    notePending(hook, state.root, reason, state.detail);
    return { stdout: state.failOpenOutput(reason) };
  };
  let decided = false;
  const decide = (outcome) => {
    if (decided) return;
    decided = true;
    finish(hook, state, outcome);
  };
  // The backstop: fetches stop at the budget on their own, but nothing else may outlast it.
  const watchdog = setTimeout(
    () => decide(failOpen('no decision within the 1.5 s budget')),
    Math.max(0, BUDGET_MS - 50 - performance.now()),
  );
  let outcome;
  try {
    outcome = (await body(state)) ?? {};
  } catch (err) {
    outcome = decided ? {} : failOpen(describe(err));
  }
  clearTimeout(watchdog);
  decide(outcome);
}

function finish(hook, state, outcome) {
  if (outcome.deny === undefined) return leave(0, outcome.stdout);
  if (!overrideRequested()) {
    process.stderr.write(printable(outcome.deny.trimEnd()) + '\n');
    return leave(DENY_EXIT);
  }
  const logged = appendLog(hook, state.root, 'overrides.log', {
    hook,
    refused: outcome.deny,
    ...outcome.detail,
  });
  warn(
    hook,
    'BATON_OVERRIDE is set: allowed what Baton refused' +
      (logged ? ' (recorded in .baton/overrides.log)' : '') +
      ':\n' +
      outcome.deny.trimEnd(),
  );
  leave(0);
}

/**
 * Exits once the output is flushed (writes to a pipe are asynchronous on some systems, so an
 * immediate exit could cut the refusal short), and soon in any case: a kept-alive socket or a
 * request still in flight must not hold the decision back.
 */
function leave(code, stdout) {
  if (stdout) process.stdout.write(stdout);
  process.exitCode = code;
  setTimeout(() => process.exit(code), 200).unref();
}

export { warn };
