import fs from 'node:fs';
import path from 'node:path';
import { Unavailable } from './hook.mjs';

// baton.config.json: which files carry a number from which Baton sequence. Version 1:
//
//   { "version": 1,
//     "sequences": [ { "glob": "docs/adr/*.md", "sequence": "adr" } ] }
//
// Globs are relative to the directory holding the file and follow git's wildmatch rules with
// "/" significant: `*` and `?` stay within a directory, `**` as a whole segment spans any number
// of them, `[...]` and `[!...]` are character classes, `\` escapes. The first matching entry
// wins. A file's number is the first run of digits in its name (not its directory).
//
// The server matches lease globs with its own engine (src/leases/glob.ts); the kit cannot
// import it (hooks use Node's built-ins only) and needs less: a path against a glob, never a
// glob against a glob. The two differ on purpose: here `\` escapes, and POSIX classes such as
// `[:digit:]` are refused (write `[0-9]`) rather than read as a set of characters.

export const CONFIG_FILE = 'baton.config.json';
export const CONFIG_VERSION = 1;
const SEQUENCE_NAME = /^[a-z0-9._-]{1,64}$/;
const TOP_KEYS = new Set(['version', 'sequences', '$comment']);
const ENTRY_KEYS = new Set(['glob', 'sequence', '$comment']);
/** The largest number Baton hands out; anything longer is not a sequence number. */
const MAX_NUMBER = 999_999_999_999;

const clip = (s, n = 80) => (s.length > n ? `${s.slice(0, n)}…` : s);

/** Every problem of a config file, one per line, each saying what to write instead. */
export class ConfigError extends Error {}

/** Limits on a glob, so that matching one stays cheap whatever the config says. */
const MAX_GLOB_CHARS = 256;
const MAX_GLOB_SEGMENTS = 40;
/** Entries of `sequences`. */
const MAX_ENTRIES = 64;
/**
 * Units of matching work (see below) one hook run may spend on globs in all, whatever the number
 * of paths and entries: about 0.1 s of a slow machine's time, a fraction of the hook's budget, and
 * hundreds of times what an ordinary config costs for a commit of thousands of files. Past it the
 * hook fails open rather than overrun.
 */
export const MAX_MATCH_WORK = 5_000_000;
let spent = 0;

/** Matching work spent by this process so far. */
export const matchWorkSpent = () => spent;

// A glob is matched segment by segment, never by a backtracking regular expression: a glob of
// many `**` compiled to a RegExp takes time exponential in their number on a path it does not
// match, and a hook cannot interrupt synchronous work to keep its budget. Here a path of P
// segments against a glob of G segments fills a (G+1)×(P+1) table, and a segment against a
// segment is a set of token positions advanced one character at a time, so a match costs at
// most (G+1)(P+1) plus (tokens × characters) for each pair of segments compared. `work` counts
// those units, so the bound is testable.

function classEnd(seg, open) {
  let i = open + 1;
  if (seg[i] === '!' || seg[i] === '^') i++;
  if (seg[i] === ']') i++;
  return seg.indexOf(']', i);
}

/** `[...]`'s body as {negated, ranges: [[lo, hi], ...]} over code points. */
function parseClass(body) {
  const negated = body[0] === '!' || body[0] === '^';
  const chars = Array.from(negated ? body.slice(1) : body);
  const ranges = [];
  for (let i = 0; i < chars.length; i++) {
    const lo = chars[i].codePointAt(0);
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      const hi = chars[i + 2].codePointAt(0);
      if (hi < lo) throw new Error(`has a backwards range "${chars[i]}-${chars[i + 2]}"`);
      ranges.push([lo, hi]);
      i += 2;
    } else {
      ranges.push([lo, lo]);
    }
  }
  return { negated, ranges };
}

/** One segment as tokens: {lit}, {any} (`?`), {star} (`*`) or {cls}. */
function parseSegment(seg) {
  const tokens = [];
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '\\') {
      if (i + 1 >= seg.length) throw new Error('ends with a lone "\\"');
      const cp = seg.codePointAt(++i);
      if (cp > 0xffff) i++;
      tokens.push({ lit: cp });
    } else if (c === '*') {
      while (seg[i + 1] === '*') i++;
      if (tokens[tokens.length - 1]?.star !== true) tokens.push({ star: true });
    } else if (c === '?') {
      tokens.push({ any: true });
    } else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) throw new Error('has a "[" without its "]"');
      if (seg.slice(i + 1, end).includes('[:')) {
        throw new Error('has a POSIX class such as [:digit:], which is not supported; write [0-9]');
      }
      tokens.push({ cls: parseClass(seg.slice(i + 1, end)) });
      i = end;
    } else {
      const cp = seg.codePointAt(i);
      if (cp > 0xffff) i++;
      tokens.push({ lit: cp });
    }
  }
  return tokens;
}

function takes(token, cp) {
  if (token.any) return true;
  if (token.lit !== undefined) return token.lit === cp;
  const inside = token.cls.ranges.some(([lo, hi]) => cp >= lo && cp <= hi);
  return inside !== token.cls.negated;
}

/** Whether one path segment matches one glob segment's tokens; adds its cost to `meter`. */
function segmentMatches(tokens, name, meter) {
  const n = tokens.length;
  // on[k]: the tokens before k have matched the characters read so far.
  let on = new Uint8Array(n + 1);
  let next = new Uint8Array(n + 1);
  const close = (set) => {
    for (let k = 0; k < n; k++) if (set[k] && tokens[k].star) set[k + 1] = 1;
  };
  on[0] = 1;
  close(on);
  for (const ch of name) {
    const cp = ch.codePointAt(0);
    next.fill(0);
    let alive = false;
    for (let k = 0; k < n; k++) {
      if (!on[k]) continue;
      const t = tokens[k];
      if (t.star) next[k] = 1;
      else if (takes(t, cp)) next[k + 1] = 1;
      else continue;
      alive = true;
    }
    meter.work += n + 1;
    if (!alive) return false;
    close(next);
    [on, next] = [next, on];
  }
  return on[n] === 1;
}

/**
 * A glob as a matcher of "/"-separated relative paths: `test(path)` answers, and `work` is the
 * cost of the last test in units of the bound above. Throws with what is wrong with the glob.
 */
export function compileGlob(glob) {
  if (glob.length > MAX_GLOB_CHARS) {
    throw new Error(`is ${glob.length} characters; a glob has at most ${MAX_GLOB_CHARS}`);
  }
  if (glob.startsWith('/')) throw new Error('must be relative to the config file (no leading "/")');
  const raw = glob.split('/');
  if (raw.some((s) => s === '')) throw new Error('has an empty segment ("//" or a trailing "/")');
  if (raw.some((s) => s === '.' || s === '..')) throw new Error('must not contain "." or ".."');
  if (raw.length > MAX_GLOB_SEGMENTS) {
    throw new Error(
      `has ${raw.length} segments; a glob has at most ${MAX_GLOB_SEGMENTS} (write one "**" for any depth)`,
    );
  }
  const segments = raw.map((seg) => (seg === '**' ? { globstar: true } : parseSegment(seg)));
  const G = segments.length;
  const matcher = {
    work: 0,
    test(relPath) {
      const meter = { work: 0 };
      const parts = String(relPath).split('/');
      const P = parts.length;
      // ok[j] for glob segments i..G against path segments j..P, filled from the end.
      let below = new Uint8Array(P + 1);
      let here = new Uint8Array(P + 1);
      below[P] = 1;
      for (let i = G - 1; i >= 0; i--) {
        const seg = segments[i];
        here.fill(0);
        for (let j = P; j >= 0; j--) {
          meter.work++;
          if (seg.globstar) {
            // A final "**" is at least one more segment; elsewhere it may be none.
            here[j] = i === G - 1 ? (j < P ? 1 : 0) : below[j] || (j < P && here[j + 1]) ? 1 : 0;
          } else {
            here[j] = j < P && below[j + 1] && segmentMatches(seg, parts[j], meter) ? 1 : 0;
          }
        }
        [below, here] = [here, below];
      }
      matcher.work = meter.work;
      spent += meter.work;
      if (spent > MAX_MATCH_WORK) {
        throw new Unavailable(
          `matching the globs of ${CONFIG_FILE} took more than ${MAX_MATCH_WORK} units of work; ` +
            'use fewer or simpler globs',
        );
      }
      return below[0] === 1;
    },
  };
  return matcher;
}

/** Validates a parsed config; throws ConfigError listing every problem. */
export function validateConfig(json) {
  const problems = [];
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new ConfigError(
      `${CONFIG_FILE}: must be a JSON object like {"version": 1, "sequences": [...]}`,
    );
  }
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.has(key)) problems.push(`"${key}" is not a setting (known: version, sequences)`);
  }
  if (json.version !== CONFIG_VERSION) {
    problems.push(
      json.version === undefined
        ? `version: required; write "version": ${CONFIG_VERSION}`
        : `version: this kit reads version ${CONFIG_VERSION}, not ${JSON.stringify(json.version)}`,
    );
  }
  const sequences = [];
  if (!Array.isArray(json.sequences)) {
    problems.push('sequences: required, a list of {"glob": "docs/adr/*.md", "sequence": "adr"}');
  } else if (json.sequences.length > MAX_ENTRIES) {
    problems.push(
      `sequences: ${json.sequences.length} entries; at most ${MAX_ENTRIES} (a "**" glob can cover many directories)`,
    );
  } else {
    json.sequences.forEach((entry, i) => {
      const at = `sequences[${i}]`;
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
        problems.push(`${at}: must be an object {"glob": ..., "sequence": ...}`);
        return;
      }
      for (const key of Object.keys(entry)) {
        if (!ENTRY_KEYS.has(key))
          problems.push(`${at}: "${key}" is not a setting (known: glob, sequence)`);
      }
      let match;
      if (typeof entry.glob !== 'string' || entry.glob === '') {
        problems.push(`${at}.glob: required, a non-empty glob such as "docs/adr/*.md"`);
      } else {
        try {
          match = compileGlob(entry.glob);
        } catch (err) {
          problems.push(`${at}.glob: "${clip(entry.glob)}" ${err.message}`);
        }
      }
      if (typeof entry.sequence !== 'string' || !SEQUENCE_NAME.test(entry.sequence)) {
        problems.push(
          `${at}.sequence: required, 1–64 characters of a-z, 0-9, ".", "_" and "-" (e.g. "adr")`,
        );
      }
      if (match) sequences.push({ glob: entry.glob, sequence: entry.sequence, match });
    });
  }
  if (problems.length > 0) {
    throw new ConfigError(`${CONFIG_FILE}: ${problems.join('; ')}`);
  }
  return { version: json.version, sequences };
}

/** The config in `root`, or null when there is none. Throws ConfigError when it is unusable. */
export function loadConfig(root) {
  let text;
  try {
    text = fs.readFileSync(path.join(root, CONFIG_FILE), 'utf8');
  } catch (err) {
    if (err.code === 'ENOENT') return null;
    throw new ConfigError(`${CONFIG_FILE}: cannot be read (${err.code ?? err.message})`);
  }
  let json;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${CONFIG_FILE}: not valid JSON (${err.message})`);
  }
  return validateConfig(json);
}

/** The entry whose glob matches a "/"-separated path relative to the config's directory. */
export function sequenceFor(config, relPath) {
  return config.sequences.find((s) => s.match.test(relPath));
}

/** The first run of digits in the file name: {number, digits}, or undefined when it has none. */
export function numberIn(relPath) {
  const name = relPath.slice(relPath.lastIndexOf('/') + 1);
  const m = /\d+/.exec(name);
  if (!m) return undefined;
  const number = Number(m[0]);
  // 0 is never handed out (0000-template.md is a template, not a claim).
  if (number < 1 || number > MAX_NUMBER) return undefined;
  return { number, digits: m[0] };
}

/** The same path with its number replaced, keeping the zero padding: 0007-x.md → 0012-x.md. */
export function renumber(relPath, digits, number) {
  const slash = relPath.lastIndexOf('/') + 1;
  const name = relPath.slice(slash);
  const at = name.indexOf(digits);
  const replaced = String(number).padStart(digits.length, '0');
  return relPath.slice(0, slash) + name.slice(0, at) + replaced + name.slice(at + digits.length);
}

/** The numbers already used by files matching an entry, found by walking the working tree. */
export function numbersInTree(root, entry, exclude, limit = 20_000) {
  const literal = [];
  for (const seg of entry.glob.split('/').slice(0, -1)) {
    if (/[*?[\\]/.test(seg)) break;
    literal.push(seg);
  }
  const numbers = [];
  let seen = 0;
  const walk = (rel) => {
    let entries;
    try {
      entries = fs.readdirSync(path.join(root, rel), { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (++seen > limit) return;
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (e.name !== '.git' && e.name !== 'node_modules') walk(child);
      } else if (entry.match.test(child) && !exclude.has(child)) {
        const n = numberIn(child);
        if (n) numbers.push(n.number);
      }
    }
  };
  walk(literal.join('/'));
  return numbers;
}
