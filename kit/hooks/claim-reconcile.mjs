#!/usr/bin/env node
// Claude Code PreToolUse hook for Write|Edit|MultiEdit: before a new numbered file (an ADR, a
// migration) is written, make sure its number is the writer's in Baton. See kit/README.md.
import fs from 'node:fs';
import path from 'node:path';
import { connect, resolveConnection } from './lib/client.mjs';
import { ConfigError, loadConfig, numberIn, sequenceFor } from './lib/config.mjs';
import {
  findRoot,
  overrideRequested,
  readHookInput,
  runHook,
  Unavailable,
  warn,
} from './lib/hook.mjs';
import { lookUp, reconcile, whoAmI } from './lib/reconcile.mjs';

const HOOK = 'claim-reconcile';

/** `file` relative to `root`, "/"-separated, or undefined when it lies outside. */
function inside(root, file) {
  const relative = path.relative(root, file);
  const out =
    relative === '..' || relative.startsWith(`..${path.sep}`) || path.isAbsolute(relative);
  return out ? undefined : relative.split(path.sep).join('/');
}

/** The real path of a file that may not exist yet: its nearest existing ancestor resolved. */
function real(file) {
  const parent = path.dirname(file);
  if (fs.existsSync(file) || parent === file) return fs.realpathSync(file);
  return path.join(real(parent), path.basename(file));
}

await runHook(HOOK, async (state) => {
  const input = await readHookInput();
  const file = input.tool_input?.file_path;
  if (typeof file !== 'string' || file === '') return {};
  const cwd = typeof input.cwd === 'string' && input.cwd ? input.cwd : process.cwd();
  const absolute = path.resolve(cwd, file);
  // Only a file that does not exist yet takes a new number; editing one is not naming one.
  if (fs.existsSync(absolute)) return {};

  state.root = findRoot(process.env.CLAUDE_PROJECT_DIR || cwd);
  const rel = inside(state.root, absolute) ?? inside(real(state.root), real(absolute));
  if (rel === undefined) return {};
  state.detail = { paths: [rel] };

  let config;
  try {
    config = loadConfig(state.root);
  } catch (err) {
    if (err instanceof ConfigError) throw new Unavailable(err.message);
    throw err;
  }
  if (!config) throw new Unavailable('no baton.config.json in this repository');
  const entry = sequenceFor(config, rel);
  const found = entry && numberIn(rel);
  if (!found) return {};
  state.detail = { paths: [rel], sequence: entry.sequence, number: found.number };

  const api = connect(resolveConnection(state.root));
  const [me, { held, known }] = await Promise.all([
    whoAmI(api),
    lookUp(api, entry.sequence, found.number),
  ]);
  const notes = [];
  const outcome = await reconcile(
    api,
    {
      root: state.root,
      path: rel,
      entry,
      found,
      me,
      exclude: new Set([rel]),
      // A retry of the same refused write in the same session gets the same number back.
      attempt: typeof input.session_id === 'string' ? input.session_id : '',
      override: overrideRequested(),
      notes,
    },
    held,
    known,
  );
  for (const note of notes) warn(HOOK, note);
  if (outcome.deny)
    return { deny: `Baton refused this write. ${outcome.deny}`, detail: outcome.detail };
  return {};
});
