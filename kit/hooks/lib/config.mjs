import fs from 'node:fs';
import path from 'node:path';

// baton.config.json: which files carry a number from which Baton sequence. Version 1:
//
//   { "version": 1,
//     "sequences": [ { "glob": "docs/adr/*.md", "sequence": "adr" } ] }
//
// Globs are relative to the directory holding the file and follow git's wildmatch rules with
// "/" significant: `*` and `?` stay within a directory, `**` as a whole segment spans any number
// of them, `[...]` and `[!...]` are character classes, `\` escapes. The first matching entry
// wins. A file's number is the first run of digits in its name (not its directory).

export const CONFIG_FILE = 'baton.config.json';
export const CONFIG_VERSION = 1;
const SEQUENCE_NAME = /^[a-z0-9._-]{1,64}$/;
const TOP_KEYS = new Set(['version', 'sequences', '$comment']);
const ENTRY_KEYS = new Set(['glob', 'sequence', '$comment']);
/** The largest number Baton hands out; anything longer is not a sequence number. */
const MAX_NUMBER = 999_999_999_999;

/** Every problem of a config file, one per line, each saying what to write instead. */
export class ConfigError extends Error {}

const escapeRegExp = (s) => s.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');

function classEnd(seg, open) {
  let i = open + 1;
  if (seg[i] === '!' || seg[i] === '^') i++;
  if (seg[i] === ']') i++;
  return seg.indexOf(']', i);
}

function compileClass(body) {
  const negated = body[0] === '!' || body[0] === '^';
  const chars = (negated ? body.slice(1) : body).replace(/[\\\]^[]/g, '\\$&');
  return negated ? `[^/${chars}]` : `[${chars}]`;
}

function compileSegment(seg) {
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === '\\') {
      if (i + 1 >= seg.length) throw new Error('ends with a lone "\\"');
      out += escapeRegExp(seg[++i]);
    } else if (c === '*') {
      while (seg[i + 1] === '*') i++;
      out += '[^/]*';
    } else if (c === '?') {
      out += '[^/]';
    } else if (c === '[') {
      const end = classEnd(seg, i);
      if (end < 0) throw new Error('has a "[" without its "]"');
      out += compileClass(seg.slice(i + 1, end));
      i = end;
    } else {
      out += escapeRegExp(c);
    }
  }
  return out;
}

/** A glob as a RegExp over "/"-separated relative paths; throws with what is wrong with it. */
export function compileGlob(glob) {
  if (glob.startsWith('/')) throw new Error('must be relative to the config file (no leading "/")');
  const segments = glob.split('/');
  if (segments.some((s) => s === ''))
    throw new Error('has an empty segment ("//" or a trailing "/")');
  if (segments.some((s) => s === '.' || s === '..'))
    throw new Error('must not contain "." or ".."');
  let source = '';
  segments.forEach((seg, i) => {
    const last = i === segments.length - 1;
    if (seg === '**') source += last ? '.*' : '(?:[^/]+/)*';
    else source += compileSegment(seg) + (last ? '' : '/');
  });
  try {
    return new RegExp(`^${source}$`);
  } catch {
    throw new Error('is not a glob this kit can read (check its [...] classes)');
  }
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
          problems.push(`${at}.glob: "${entry.glob}" ${err.message}`);
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
