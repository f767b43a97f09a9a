import { createHash } from 'node:crypto';
import { z } from 'zod';
import { invalid } from '../errors.js';
import type { Trx } from '../db/pool.js';
import {
  SEARCH_KINDS,
  searchProject,
  type SearchAfter,
  type SearchKind,
  type SearchRow,
  type SearchTerms,
} from '../db/search.js';
import { ACTOR, bounded, line } from '../names.js';
import { TIME } from './ledger.js';
import { defineTool } from './types.js';

// Search: what the user typed becomes terms (words, prefix* and "quoted phrases", all of which
// must match), the terms become a tsquery in the database (search_query, migrations/0011), and
// hits come back ranked, a page at a time. The search tool and the web pages both call
// runSearch, so they answer the same way.

export const QUERY_MAX_CHARS = 200;
const QUERY_MAX_WORDS = 12;
/** Shorter prefixes match most of the vocabulary: slow, and no help. */
const PREFIX_MIN_CHARS = 3;
const SEARCH_PAGE_MAX = 50;
/** Not advertised as a default in the schema: the catalogue has no room to spare. */
const SEARCH_PAGE_DEFAULT = 20;
const SNIPPET_MAX_CHARS = 300;

const NOT_WORD = /^[^\p{L}\p{N}]+|[^\p{L}\p{N}]+$/gu;
const WORD_PIECES = /[\p{L}\p{N}]+/gu;

/** Splits the text typed into terms; refuses, naming the limit, what would be too much work. */
export function parseQuery(text: string): SearchTerms {
  const terms: SearchTerms = { words: [], prefixes: [], phrases: [] };
  let count = 0;
  for (const m of text.matchAll(/"([^"]*)"?|(\S+)/g)) {
    if (m[1] !== undefined) {
      const words = m[1].match(WORD_PIECES)?.length ?? 0;
      if (words === 0) continue;
      count += words;
      terms.phrases.push(m[1].trim());
      continue;
    }
    const token = m[2] as string;
    const prefix = token.endsWith('*');
    const core = token.replace(/\*+$/, '').replace(NOT_WORD, '');
    if (core === '') continue;
    count += 1;
    if (!prefix) {
      terms.words.push(core);
    } else if ([...core].length < PREFIX_MIN_CHARS) {
      throw invalid(
        `query: a prefix needs at least ${PREFIX_MIN_CHARS} characters before the * ("${core}*" has ${[...core].length})`,
        { fields: [{ field: 'query', problem: `prefix shorter than ${PREFIX_MIN_CHARS}` }] },
      );
    } else {
      terms.prefixes.push(core);
    }
  }
  if (count > QUERY_MAX_WORDS) {
    throw invalid(
      `query: at most ${QUERY_MAX_WORDS} words, counting each word of a quoted phrase (this has ${count}); search for fewer`,
      { fields: [{ field: 'query', problem: `more than ${QUERY_MAX_WORDS} words` }] },
    );
  }
  if (count === 0) {
    throw invalid(
      'query: nothing to search for; give words of letters or digits, a prefix such as migra*, or a "quoted phrase"',
      { fields: [{ field: 'query', problem: 'no words' }] },
    );
  }
  return terms;
}

/** The search's arguments, as the tool takes them and the web pages check them. */
export const SEARCH_INPUT = z.strictObject({
  query: line(QUERY_MAX_CHARS),
  kind: z.enum(SEARCH_KINDS).optional(),
  actor: ACTOR.optional(),
  since: TIME.optional(),
  cursor: bounded(200, 'a cursor is at most 200 characters').optional(),
  limit: z.number().int().min(1).max(SEARCH_PAGE_MAX).optional(),
});

export type SearchArgs = z.output<typeof SEARCH_INPUT>;

// A cursor holds the last hit's sort key and a digest of the search it belongs to, so a cursor
// of another search is refused instead of paging it from a meaningless place.
const searchDigest = (a: SearchArgs) =>
  createHash('sha256')
    .update(JSON.stringify([a.query, a.kind ?? '', a.actor ?? '', a.since ?? '']))
    .digest('base64url')
    .slice(0, 8);

function encodeCursor(a: SearchArgs, r: SearchRow): string {
  return Buffer.from(
    `s:${searchDigest(a)}:${r.score}:${r.kind}:${r.key_num}:${r.key_text}`,
  ).toString('base64url');
}

function decodeCursor(a: SearchArgs, cursor: string): SearchAfter {
  const m =
    /^s:([A-Za-z0-9_-]{8}):(\d{1,18}):(post|task|claim|lease):(\d{1,18}):([a-z0-9._-]{0,64})$/.exec(
      Buffer.from(cursor, 'base64url').toString('utf8'),
    );
  if (!m || m[1] !== searchDigest(a)) {
    throw invalid(
      'cursor: not a next_cursor of this search; repeat the same query and filters with it, or omit it to start from the best hits',
      { fields: [{ field: 'cursor', problem: 'not a cursor of this search' }] },
    );
  }
  return {
    score: m[2] as string,
    kind: m[3] as SearchKind,
    keyNum: m[4] as string,
    keyText: m[5] as string,
  };
}

/** One line, cut (between characters, not inside one) when a long word made it long. */
function snippet(text: string): string {
  const chars = [...text.replace(/\s+/g, ' ').trim()];
  return chars.length > SNIPPET_MAX_CHARS
    ? `${chars.slice(0, SNIPPET_MAX_CHARS - 1).join('')}…`
    : chars.join('');
}

export type SearchHit = ReturnType<typeof hitView>;

function hitView(r: SearchRow) {
  const common = { actor: r.actor, at: r.at.toISOString(), snippet: snippet(r.snippet) };
  const ref = r.ref === null ? {} : { ref: r.ref };
  switch (r.kind) {
    case 'post':
      return {
        kind: r.kind,
        post_id: Number(r.key_num),
        ...(r.title === null ? {} : { subject: r.title }),
        ...ref,
        ...common,
      };
    case 'task':
      return {
        kind: r.kind,
        task_id: Number(r.key_num),
        title: r.title,
        status: r.status,
        ...ref,
        ...common,
      };
    case 'claim':
      return {
        kind: r.kind,
        sequence: r.key_text,
        number: Number(r.key_num),
        formatted: r.title,
        ...ref,
        ...common,
      };
    case 'lease':
      return {
        kind: r.kind,
        lease_id: Number(r.lease_id),
        seq: Number(r.key_num),
        surface: r.title,
        ...common,
      };
  }
}

/** One page of a search in a project: the search tool and the web pages both answer with it. */
export async function runSearch(trx: Trx, projectId: string, a: SearchArgs) {
  const terms = parseQuery(a.query);
  const limit = a.limit ?? SEARCH_PAGE_DEFAULT;
  const rows = await searchProject(trx, projectId, {
    ...terms,
    kind: a.kind,
    actor: a.actor,
    since: a.since === undefined ? undefined : new Date(a.since),
    after: a.cursor === undefined ? undefined : decodeCursor(a, a.cursor),
    limit: limit + 1,
  });
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    hits: shown.map(hitView),
    next_cursor: rows.length > limit && last ? encodeCursor(a, last) : null,
  };
}

export const search = defineTool({
  name: 'search',
  title: 'Search',
  description: 'Full-text search: words, pre*, "a phrase".',
  input: SEARCH_INPUT,
  annotations: { readOnlyHint: true },
  handler: ({ trx, ctx }, a) => runSearch(trx, ctx.projectId, a),
});
