// Token buckets kept in this process's memory: per token on /mcp and /api (BATON_RATE_LIMIT per
// second, burst 5×), per client address on /join (10 a minute). Behind a load balancer each
// process keeps its own buckets, so the effective limit is per process; that bounds abuse
// without a database write on every request.

/**
 * A request counts as one, plus one for every 64 KiB it sends or is answered with: a rate limit
 * that counts requests alone lets a token that sends megabyte bodies and asks for megabyte
 * answers take the CPU every other tenant shares (issue: pathological `check_paths`).
 */
const BYTES_PER_REQUEST = 64 * 1024;

export function bytesCost(bytes: number): number {
  return Math.floor(bytes / BYTES_PER_REQUEST);
}

/**
 * And one for every 100,000 units of lease matching (about a millisecond of CPU on the machines
 * measured by `npm run bench`'s matching figure): what a call costs the CPU, not only the wire.
 */
const UNITS_PER_REQUEST = 100_000;

export function workCost(units: number): number {
  return Math.floor(units / UNITS_PER_REQUEST);
}

export interface Decision {
  ok: boolean;
  /** Seconds until one more request would be allowed (when refused). */
  retryAfter: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private sweptAt = Date.now();

  /** ratePerSecond 0 disables the limiter. */
  constructor(
    private readonly ratePerSecond: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string): Decision {
    const granted = this.takeUpTo(key, 1);
    return { ok: granted.granted === 1, retryAfter: granted.retryAfter };
  }

  /**
   * Takes as many as it can of `wanted` requests at once (a JSON-RPC batch is charged per
   * message): how many were granted, and when the next would be if not all were.
   */
  takeUpTo(key: string, wanted: number): { granted: number; retryAfter: number } {
    if (this.ratePerSecond <= 0) return { granted: wanted, retryAfter: 0 };
    const now = this.now();
    this.sweep(now);
    const b = this.refilled(key, now);
    const granted = Math.max(0, Math.min(wanted, Math.floor(b.tokens)));
    b.tokens -= granted;
    if (granted === wanted) return { granted, retryAfter: 0 };
    return {
      granted,
      retryAfter: Math.max(1, Math.ceil((1 - b.tokens) / this.ratePerSecond)),
    };
  }

  /**
   * Charges work beyond the request itself (see bytesCost) after the fact: the bucket may go
   * below zero, down to one burst's debt, and the token's next requests wait until it refills.
   */
  charge(key: string, amount: number): void {
    if (this.ratePerSecond <= 0 || amount <= 0) return;
    const b = this.refilled(key, this.now());
    b.tokens = Math.max(-this.burst, b.tokens - amount);
  }

  /** The key's bucket, refilled for the time since it was last touched. */
  private refilled(key: string, now: number): Bucket {
    const b = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  /** Forgets full buckets now and then, so idle keys cost no memory. */
  private sweep(now: number): void {
    if (now - this.sweptAt < 60_000) return;
    this.sweptAt = now;
    for (const [key, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.ratePerSecond >= this.burst)
        this.buckets.delete(key);
    }
  }
}
