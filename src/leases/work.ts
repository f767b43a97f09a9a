import type { WorkMeter } from '../ctx.js';
import { MAX_COMPARISON_WORK, REQUEST_WORK, WORK_SLICE } from './limits.js';

// The work counter. Matching is charged in units of a few nanoseconds on the machine it was
// measured on (bench/matching.ts): one step of an automaton, one comparison of character
// ranges, one character parsed or hashed. Counting work rather than time keeps answers the same
// on a busy machine and lets tests assert the bound without a clock.
//
// Three bounds: the request's (REQUEST_WORK), one comparison's (MAX_COMPARISON_WORK, so that no
// single pair of surfaces runs long) and a slice's (WORK_SLICE). Requests that weigh many
// surfaces take turns, one slice per turn of the event loop in the whole process, so however
// many of them run at once, other tenants' requests are served between two slices.

export class Budget {
  spent = 0;
  /** Answers given by assumption (work refused): overlap assumed, not decided. */
  assumptions = 0;
  private comparisonLeft = Number.POSITIVE_INFINITY;
  private sliceFrom = 0;

  constructor(readonly limit: number) {}

  get left(): number {
    return this.limit - this.spent;
  }
  /** Once true, it stays true for the rest of the request: every answer assumes overlap. */
  get exhausted(): boolean {
    return this.spent > this.limit;
  }

  /**
   * Charges work before it is done. False when it does not fit: the caller skips that work and
   * assumes overlap. Past the request's limit the budget stays spent (one unit past it, never
   * more); past a comparison's allowance only that comparison ends.
   */
  spend(units: number): boolean {
    if (this.spent + units > this.limit) {
      this.spent = Math.max(this.spent, this.limit + 1);
      this.assumptions++;
      return false;
    }
    if (units > this.comparisonLeft) {
      this.comparisonLeft = 0;
      this.assumptions++;
      return false;
    }
    this.spent += units;
    this.comparisonLeft -= units;
    return true;
  }

  /** Starts comparing one more pair of surfaces: it may spend at most `max` of what is left. */
  compare(max = MAX_COMPARISON_WORK): void {
    this.comparisonLeft = max;
  }

  /** Whether a slice of work is done: then, between two comparisons, the caller pauses. */
  get due(): boolean {
    return this.spent - this.sliceFrom >= WORK_SLICE;
  }

  /** Waits for this request's next turn (checked with `due` first: an await costs too). */
  async pause(): Promise<void> {
    this.sliceFrom = this.spent;
    await nextTurn();
  }
}

// The requests waiting for a turn, first come first served. One is resumed per turn of the
// event loop (in its check phase, after the I/O that arrived meanwhile has been handled).
const waiting: (() => void)[] = [];
let scheduled = false;

function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    if (!scheduled) {
      scheduled = true;
      setImmediate(resumeOne);
    }
  });
}

function resumeOne(): void {
  const next = waiting.shift();
  if (waiting.length > 0) setImmediate(resumeOne);
  else scheduled = false;
  next?.();
}

/** What requests have spent in this process: read by tests and the benchmark. */
export const workStats = {
  requests: 0,
  total: 0,
  /** The most one request has spent. */
  maxRequest: 0,
  /** Requests that reached the request bound and answered the rest by assuming overlap. */
  exhausted: 0,
  /** Requests in which some answer was assumed (the request bound or a comparison's). */
  assumed: 0,
};

export function resetWorkStats(): void {
  Object.assign(workStats, { requests: 0, total: 0, maxRequest: 0, exhausted: 0, assumed: 0 });
}

class RequestBudget extends Budget {
  constructor(private readonly meter?: WorkMeter) {
    super(REQUEST_WORK);
    workStats.requests++;
  }
  override spend(units: number): boolean {
    const before = this.spent;
    const assumedBefore = this.assumptions;
    const ok = super.spend(units);
    workStats.total += this.spent - before;
    if (this.meter) this.meter.units += this.spent - before;
    if (this.spent > workStats.maxRequest) workStats.maxRequest = this.spent;
    if (before <= this.limit && this.spent > this.limit) workStats.exhausted++;
    if (assumedBefore === 0 && this.assumptions > 0) workStats.assumed++;
    return ok;
  }
}

/**
 * The budget of one request's matching: every surface parsed, compiled and compared. What it
 * spends is added to the call's meter, which the edge charges to the token's rate limit.
 */
export const requestBudget = (meter?: WorkMeter): Budget => new RequestBudget(meter);

export const unlimited = (): Budget => new Budget(Number.POSITIVE_INFINITY);
