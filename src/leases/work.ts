import { REQUEST_WORK } from './limits.js';

// The work counter. Matching is charged in units of about 10 ns on the machine it was measured
// on: one step of an automaton, one comparison of character ranges, one character parsed or
// hashed. Counting work rather than time keeps answers the same on a busy machine and lets tests
// assert the bound without a clock.

export class Budget {
  spent = 0;
  constructor(readonly limit: number) {}

  get left(): number {
    return this.limit - this.spent;
  }
  /** Once true, it stays true for the rest of the request: answers assume overlap. */
  get exhausted(): boolean {
    return this.spent > this.limit;
  }
  /**
   * Charges work before it is done. False when it does not fit: the caller skips that work and
   * assumes overlap, and the budget stays spent (one unit past its limit, never more).
   */
  spend(units: number): boolean {
    if (this.spent + units > this.limit) {
      this.spent = Math.max(this.spent, this.limit + 1);
      return false;
    }
    this.spent += units;
    return true;
  }
}

/** What requests have spent in this process: read by tests and the benchmark. */
export const workStats = {
  requests: 0,
  total: 0,
  /** The most one request has spent. */
  maxRequest: 0,
  /** Requests that reached the bound and answered by assuming overlap. */
  exhausted: 0,
};

export function resetWorkStats(): void {
  Object.assign(workStats, { requests: 0, total: 0, maxRequest: 0, exhausted: 0 });
}

class RequestBudget extends Budget {
  constructor() {
    super(REQUEST_WORK);
    workStats.requests++;
  }
  override spend(units: number): boolean {
    const before = this.spent;
    const ok = super.spend(units);
    workStats.total += this.spent - before;
    if (this.spent > workStats.maxRequest) workStats.maxRequest = this.spent;
    if (!ok && before <= this.limit) workStats.exhausted++;
    return ok;
  }
}

/** The budget of one request's matching: every surface parsed, compiled and compared. */
export const requestBudget = (): Budget => new RequestBudget();

export const unlimited = (): Budget => new Budget(Number.POSITIVE_INFINITY);
