import { invalid } from '../errors.js';
import { bounded } from '../names.js';

// Opaque page cursors for lists read newest first (read_posts, query_events). A cursor holds the
// position of the last item of a page and the list it belongs to, so one from another tool, or a
// hand-edited one, is refused instead of silently paging something else.

export const PAGE_CURSOR = bounded(100, 'a cursor is at most 100 characters');

export function encodeCursor(list: string, position: string): string {
  return Buffer.from(`${list}:${position}`).toString('base64url');
}

export function decodeCursor(list: string, cursor: string, tool: string): string {
  const m = /^([a-z_]+):(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m || m[1] !== list) {
    throw invalid(
      `cursor: not a next_cursor from ${tool}; pass the one its last page returned, or omit it to start from the newest`,
      { fields: [{ field: 'cursor', problem: `not a ${tool} cursor` }] },
    );
  }
  return m[2] as string;
}

/** Takes a page from rows fetched with limit + 1: the extra row only says there is more. */
export function page<T>(rows: T[], limit: number): { items: T[]; more: boolean } {
  return { items: rows.slice(0, limit), more: rows.length > limit };
}
