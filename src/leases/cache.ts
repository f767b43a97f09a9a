// Surfaces as parsed and compiled, kept by their text between requests: the same few hundred
// leases are weighed by every grant, who_holds and check_paths of a project, and parsing and
// compiling them again each time was most of the work. Least recently used first out, bounded
// by an estimate of the memory each entry may come to (its remembered DFA included).

export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; weight: number }>();
  private total = 0;

  constructor(
    readonly maxWeight: number,
    private readonly weigh: (value: V) => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    // Map keeps insertion order: moving the entry to the end marks it as the freshest.
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V): void {
    const weight = this.weigh(value);
    const old = this.entries.get(key);
    if (old !== undefined) {
      this.entries.delete(key);
      this.total -= old.weight;
    }
    if (weight > this.maxWeight) return;
    for (const [oldest, entry] of this.entries) {
      if (this.total + weight <= this.maxWeight) break;
      this.entries.delete(oldest);
      this.total -= entry.weight;
    }
    this.entries.set(key, { value, weight });
    this.total += weight;
  }

  clear(): void {
    this.entries.clear();
    this.total = 0;
  }
}
