import type { LeaseRow } from '../db/leases.js';
import { MAX_LEASES_PER_ANSWER, MAX_LEASES_PER_PATH } from './limits.js';
import { overlaps } from './overlap.js';
import { LANE_PREFIX, storedSurface, type Surface } from './surface.js';
import type { Budget } from './work.js';

// Which live leases overlap a surface (who_holds), and which cover each of many concrete paths
// (check_paths), within one request's matching budget. A comparison that cannot be finished
// within its allowance, or any after the request's budget is spent, is taken to overlap; the
// answer says so (`overlap_assumed`) and stays within its listing caps.

interface Held {
  row: LeaseRow;
  /** Its place among the rows, which come ordered by surface. */
  order: number;
  /** Undefined when the budget could not pay for reading it: it is taken to cover every path. */
  surface: Surface | undefined;
}

const isLane = (text: string) => text.startsWith(LANE_PREFIX);

/** A lease that could not be read: a lane is still told apart by its text, a path overlaps. */
const assumed = (text: string, surface: Surface) =>
  isLane(text) || surface.lane !== undefined ? text === surface.text : true;

/** The rows whose surface overlaps `surface`, stopping once `enough` are found. */
export async function overlapping(
  surface: Surface,
  rows: readonly LeaseRow[],
  budget: Budget,
  enough: number,
) {
  const hits: LeaseRow[] = [];
  for (const row of rows) {
    if (hits.length >= enough) break;
    const held = storedSurface(row.surface, budget);
    if (held ? overlaps(surface, held, budget) : assumed(row.surface, surface)) hits.push(row);
    if (budget.due) await budget.pause();
  }
  return { hits, assumed: budget.assumptions > 0 };
}

/** How many characters of a glob's literal prefix or suffix key its bucket. */
const KEY = 8;

/**
 * The leases by the question that finds them. Lanes, plain paths and directories by exact lookup
 * (a path asks for itself and each of its parent directories); globs by the last characters of
 * their literal suffix, else the first of their literal prefix (a path asks for each of its own
 * up to KEY characters), and only globs with neither are tried against every path.
 */
class LeaseIndex {
  private readonly lanes = new Map<string, Held[]>();
  private readonly files = new Map<string, Held[]>();
  private readonly dirs = new Map<string, Held[]>();
  /** The lengths of the directories leased: a path looks up only parents of those lengths. */
  private readonly dirLengths = new Set<number>();
  private readonly bySuffix = new Map<string, Held[]>();
  private readonly byPrefix = new Map<string, Held[]>();
  private readonly anyPath: Held[] = [];
  /** Every lease on a path, exclusive ones first: the answer once the budget is spent. */
  readonly paths: Held[] = [];

  static async build(rows: readonly LeaseRow[], budget: Budget): Promise<LeaseIndex> {
    const index = new LeaseIndex();
    for (const [order, row] of rows.entries()) {
      index.add({ row, order, surface: storedSurface(row.surface, budget) });
      if (budget.due) await budget.pause();
    }
    index.paths.sort(exclusiveFirst);
    return index;
  }

  private add(held: Held) {
    const { row, surface: s } = held;
    if (isLane(row.surface)) return add(this.lanes, row.surface, held);
    this.paths.push(held);
    if (s === undefined) this.anyPath.push(held);
    else if (!s.pattern && s.directory) {
      add(this.dirs, s.body, held);
      this.dirLengths.add(s.body.length);
    } else if (!s.pattern) add(this.files, s.body, held);
    else if (s.suffix) add(this.bySuffix, s.suffix.slice(-KEY), held);
    else if (s.prefix) add(this.byPrefix, s.prefix.slice(0, KEY), held);
    else this.anyPath.push(held);
  }

  /** The leases covering one concrete path, and whether that answer was assumed. */
  async covering(path: Surface, budget: Budget): Promise<{ found: Held[]; assumed: boolean }> {
    if (path.lane !== undefined) return { found: this.lanes.get(path.text) ?? [], assumed: false };
    const everything = { found: this.paths, assumed: true };
    if (budget.exhausted) return everything;
    const candidates: Held[] = [];
    const found: Held[] = [];
    const body = path.body;
    budget.compare();
    if (path.directory) {
      candidates.push(...this.paths);
    } else {
      // Lookups: the path, its parent directories, and its first and last few characters. A
      // lookup hashes its key, so each parent costs its length.
      if (!budget.spend(64 + 3 * body.length + 8 * KEY)) return everything;
      found.push(...(this.files.get(body) ?? []), ...(this.dirs.get(body) ?? []));
      for (let i = body.indexOf('/'); i > 0; i = body.indexOf('/', i + 1)) {
        if (!this.dirLengths.has(i)) continue;
        if (!budget.spend(2 + (i >> 3))) return everything;
        found.push(...(this.dirs.get(body.slice(0, i)) ?? []));
      }
      for (let k = 1; k <= KEY && k <= body.length; k++) {
        candidates.push(...(this.bySuffix.get(body.slice(-k)) ?? []));
        candidates.push(...(this.byPrefix.get(body.slice(0, k)) ?? []));
      }
      candidates.push(...this.anyPath);
    }
    const before = budget.assumptions;
    for (const held of candidates) {
      if (held.surface === undefined || overlaps(held.surface, path, budget)) found.push(held);
      if (budget.exhausted) return everything;
      if (budget.due) await budget.pause();
    }
    // Listing and ordering what was found is work too: many shared leases may cover one path.
    budget.compare();
    if (!budget.spend(4 + found.length * (2 + Math.ceil(Math.log2(found.length + 1))))) {
      return everything;
    }
    return { found: found.sort(exclusiveFirst), assumed: budget.assumptions > before };
  }
}

function add(map: Map<string, Held[]>, key: string, held: Held) {
  const list = map.get(key);
  if (list) list.push(held);
  else map.set(key, [held]);
}

// A guard refuses on an exclusive lease: when a listing is cut short, those are the ones it shows.
// Otherwise the rows' own order (by surface) is kept.
const exclusiveFirst = (a: Held, b: Held) =>
  (a.row.mode === 'exclusive' ? 0 : 1) - (b.row.mode === 'exclusive' ? 0 : 1) || a.order - b.order;

export interface PathCoverage {
  path: string;
  leases: LeaseRow[];
  /** Covering leases not listed. */
  more: number;
}

/**
 * For each concrete path, the leases covering it: at most MAX_LEASES_PER_PATH each, and once the
 * answer lists MAX_LEASES_PER_ANSWER, one each (so a covered path never reads as free). A path
 * answered by assumption lists one as well: reaching a bound never makes the answer longer.
 */
export async function coverPaths(
  paths: readonly Surface[],
  rows: readonly LeaseRow[],
  budget: Budget,
) {
  const index = await LeaseIndex.build(rows, budget);
  let listed = 0;
  const out: PathCoverage[] = [];
  for (const path of paths) {
    const { found, assumed } = await index.covering(path, budget);
    const room = assumed
      ? 1
      : Math.max(1, Math.min(MAX_LEASES_PER_PATH, MAX_LEASES_PER_ANSWER - listed));
    const leases = found.slice(0, room).map((h) => h.row);
    listed += leases.length;
    out.push({ path: path.text, leases, more: found.length - leases.length });
    if (budget.due) await budget.pause();
  }
  return { paths: out, assumed: budget.assumptions > 0 };
}
