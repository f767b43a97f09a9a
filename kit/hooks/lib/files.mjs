import fs from 'node:fs';
import path from 'node:path';

// Writing into a repository without trusting it. A repository can commit a symbolic link where
// the kit writes (`.baton`, `.baton/pending.log`, `.claude/settings.json`, ...), and following it
// would let repository content append to or replace any file the user can write. So every write
// walks from a trusted base (the repository root, or git's own directory) one component at a
// time with lstat, refuses a link or a non-directory on the way, checks that the real path of
// the directory it reached is still inside the base, and opens the file itself with O_NOFOLLOW
// (and O_NONBLOCK, so a FIFO planted there cannot hang a hook that has a time budget to keep).
// `baton kit install` uses this module too: one rule for the hooks and the installer.

const C = fs.constants;
// Windows has neither flag; the lstat checks before the open still refuse links there.
const NOFOLLOW = (C.O_NOFOLLOW ?? 0) | (C.O_NONBLOCK ?? 0);

/** A write refused because of what the repository has at a path; the message says what to fix. */
export class Refused extends Error {}

function lstat(file) {
  try {
    return fs.lstatSync(file);
  } catch (err) {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  }
}

/** `rel` ("/"-separated, relative) as components, refusing anything that could leave the base. */
function components(rel) {
  const parts = rel.split('/');
  if (
    rel === '' ||
    path.isAbsolute(rel) ||
    parts.some((p) => p === '' || p === '.' || p === '..')
  ) {
    throw new Refused(`${rel}: not a plain path inside the repository`);
  }
  return parts;
}

const shown = (parts, n) => parts.slice(0, n).join('/');

function refuseNonFile(st, name) {
  if (st.isSymbolicLink()) {
    throw new Refused(`${name} is a symbolic link; the Baton kit does not write through links`);
  }
  if (!st.isFile()) throw new Refused(`${name} is not a regular file`);
}

/**
 * Walks from `base` to the directory of `rel`: every component must be a real directory (never a
 * link). Missing directories are created when `create` is set; otherwise the walk stops and the
 * file counts as absent. Returns the directory reached, or undefined when it does not exist.
 */
function walk(base, parts, create) {
  let dir = base;
  for (let i = 0; i < parts.length - 1; i++) {
    dir = path.join(dir, parts[i]);
    let st = lstat(dir);
    if (st === undefined) {
      if (!create) return undefined;
      try {
        fs.mkdirSync(dir, { mode: 0o755 });
      } catch (err) {
        if (err.code !== 'EEXIST') throw err;
      }
      st = lstat(dir);
    }
    const name = shown(parts, i + 1);
    if (st?.isSymbolicLink()) {
      throw new Refused(`${name} is a symbolic link; the Baton kit does not write through links`);
    }
    if (!st?.isDirectory()) throw new Refused(`${name} is not a directory`);
  }
  // The walk saw no link, so the real path is the base's plus the same components; a mismatch
  // means something changed under the walk (or the base was not what it seemed).
  const real = fs.realpathSync(dir);
  const realBase = fs.realpathSync(base);
  const expected = path.join(realBase, ...parts.slice(0, -1));
  if (real !== expected) {
    throw new Refused(`${shown(parts, parts.length - 1) || '.'} resolves outside ${realBase}`);
  }
  return dir;
}

/**
 * What is at `rel` below `base` without changing anything: 'absent' or 'file'. Throws Refused
 * for a link, or for anything but a directory on the way or a regular file at the end.
 */
export function inspectInside(base, rel) {
  const parts = components(rel);
  const dir = walk(base, parts, false);
  if (dir === undefined) return 'absent';
  const st = lstat(path.join(dir, parts[parts.length - 1]));
  if (st === undefined) return 'absent';
  refuseNonFile(st, rel);
  return 'file';
}

function openChecked(file, flags, rel, mode = 0o644) {
  let fd;
  try {
    fd = fs.openSync(file, flags | NOFOLLOW, mode);
  } catch (err) {
    // ELOOP: the last component became a link after it was checked.
    if (err.code === 'ELOOP' || err.code === 'EMLINK') {
      throw new Refused(`${rel} is a symbolic link; the Baton kit does not write through links`);
    }
    throw err;
  }
  try {
    refuseNonFile(fs.fstatSync(fd), rel);
  } catch (err) {
    fs.closeSync(fd);
    throw err;
  }
  return fd;
}

/** Appends `text` to `rel` below `base`, creating the file and its directories as needed. */
export function appendInside(base, rel, text) {
  const parts = components(rel);
  const dir = walk(base, parts, true);
  const file = path.join(dir, parts[parts.length - 1]);
  const st = lstat(file);
  if (st !== undefined) refuseNonFile(st, rel);
  const fd = openChecked(file, C.O_WRONLY | C.O_APPEND | C.O_CREAT, rel);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Makes `rel` below `base` hold `content` (and `mode`, when given), creating directories as
 * needed. Resolves to 'wrote' (new file), 'updated', or undefined when it already held it.
 */
export function writeInside(base, rel, content, mode) {
  const parts = components(rel);
  const dir = walk(base, parts, true);
  const file = path.join(dir, parts[parts.length - 1]);
  const st = lstat(file);
  let before;
  let modeBefore;
  if (st !== undefined) {
    refuseNonFile(st, rel);
    const fd = openChecked(file, C.O_RDONLY, rel);
    try {
      before = fs.readFileSync(fd, 'utf8');
      modeBefore = fs.fstatSync(fd).mode & 0o777;
    } finally {
      fs.closeSync(fd);
    }
    if (before === content && (mode === undefined || modeBefore === mode)) return undefined;
  }
  const fd = openChecked(
    file,
    before === undefined ? C.O_WRONLY | C.O_CREAT | C.O_EXCL : C.O_WRONLY,
    rel,
    mode ?? 0o644,
  );
  try {
    if (before !== content) {
      fs.ftruncateSync(fd, 0);
      fs.writeSync(fd, content, 0);
    }
    if (mode !== undefined && (fs.fstatSync(fd).mode & 0o777) !== mode) fs.fchmodSync(fd, mode);
  } finally {
    fs.closeSync(fd);
  }
  if (before === content) return undefined;
  return before === undefined ? 'wrote' : 'updated';
}
