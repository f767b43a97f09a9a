import client from 'prom-client';

// Prometheus metrics for operators. Labels name tools, codes and routes, never projects or
// participants: a scrape must not reveal who uses the service. A leaf module: every layer records
// into it, and what it reads from the database comes in through MetricSources.

/** What the gauges read when scraped; the composition root wires these to the pool and db. */
export interface MetricSources {
  pool: { totalCount: number; idleCount: number; waitingCount: number };
  /** MCP sessions not yet ended, across all processes sharing the database. */
  openSessions(): Promise<number>;
  /** The process's ledger listener: whether it hears, and how many wait on it. */
  listener?: { readonly hearing: boolean; subscriberCount(): number };
}

export interface Exposition {
  contentType: string;
  text: string;
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly toolCalls: HotCounter<'tool' | 'outcome'>;
  private readonly toolErrors: HotCounter<'tool' | 'code'>;
  private readonly toolSeconds: client.Histogram<'tool'>;
  private readonly requests: HotCounter<'route' | 'status'>;
  readonly sessionsInitialized: client.Counter;
  readonly streamsOpen: client.Gauge<'kind'>;
  private readonly streamMessages: client.Counter<'kind'>;
  private readonly pushLag: client.Histogram;
  private resolutions: Readonly<Record<'database' | 'memory' | 'outage', number>> | undefined;
  private gather: (() => Promise<Exposition>) | undefined;

  constructor(sources: MetricSources) {
    client.collectDefaultMetrics({ register: this.registry, prefix: 'baton_' });
    this.toolCalls = new HotCounter(this.registry, {
      name: 'baton_tool_calls_total',
      help: 'Tool calls by tool and outcome (ok or error), over MCP and /api.',
      labelNames: ['tool', 'outcome'],
    });
    this.toolErrors = new HotCounter(this.registry, {
      name: 'baton_tool_errors_total',
      help: 'Tool calls that ended in an error, by tool and error code.',
      labelNames: ['tool', 'code'],
    });
    this.toolSeconds = new client.Histogram({
      name: 'baton_tool_duration_seconds',
      help: 'Time from validated arguments to result, by tool.',
      labelNames: ['tool'],
      buckets: [
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
      ],
      registers: [this.registry],
    });
    this.requests = new HotCounter(this.registry, {
      name: 'baton_http_requests_total',
      help: 'HTTP requests by route and status.',
      labelNames: ['route', 'status'],
    });
    this.sessionsInitialized = new client.Counter({
      name: 'baton_mcp_sessions_initialized_total',
      help: 'MCP sessions opened on this process.',
      registers: [this.registry],
    });
    this.streamsOpen = new client.Gauge({
      name: 'baton_streams_open',
      help: 'Event streams open on this process: mcp (push on GET /mcp) and events (GET /api/v1/events).',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.streamMessages = new client.Counter({
      name: 'baton_stream_messages_total',
      help: 'Messages written to event streams, by kind (post, lease_lost, task_assigned, event).',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.pushLag = new client.Histogram({
      name: 'baton_push_lag_seconds',
      help: 'Time from an event being committed to its message on a live stream (fan-out lag).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [this.registry],
    });
    // Counted by the identity memory in plain numbers (every request resolves a token), read here.
    const counted = () => this.resolutions;
    new client.Counter({
      name: 'baton_token_resolutions_total',
      help: 'Bearer tokens resolved, by source: database (a lookup), memory (trusted while the ledger listener hears), outage (remembered while the database is away).',
      labelNames: ['source'],
      registers: [this.registry],
      collect() {
        const counts = counted();
        if (!counts) return;
        this.reset();
        for (const [source, n] of Object.entries(counts)) this.inc({ source }, n);
      },
    });
    new client.Gauge({
      name: 'baton_db_pool_connections',
      help: 'Database pool connections by state (total, idle, waiting for a connection).',
      labelNames: ['state'],
      registers: [this.registry],
      collect() {
        const pool = sources.pool;
        this.set({ state: 'total' }, pool.totalCount);
        this.set({ state: 'idle' }, pool.idleCount);
        this.set({ state: 'waiting' }, pool.waitingCount);
      },
    });
    const listener = sources.listener;
    if (listener) {
      new client.Gauge({
        name: 'baton_ledger_listener_hearing',
        help: 'Whether the ledger listener hears notifications (1), or long-polls and streams poll the ledger (0); see /readyz.',
        registers: [this.registry],
        // Across the workers of one `baton serve`: 0 when any of them does not hear.
        aggregator: 'min',
        collect() {
          this.set(listener.hearing ? 1 : 0);
        },
      });
      new client.Gauge({
        name: 'baton_ledger_waiters',
        help: 'Long-polls and stream groups on this process waiting for ledger wake-ups.',
        registers: [this.registry],
        collect() {
          this.set(listener.subscriberCount());
        },
      });
    }
    new client.Gauge({
      name: 'baton_mcp_sessions_open',
      help: 'MCP sessions not yet ended, across all processes sharing the database.',
      registers: [this.registry],
      aggregator: 'max', // every worker reads the same count

      async collect() {
        this.set(await sources.openSessions());
      },
    });
  }

  /** What /metrics serves: this process's metrics, or, in a worker, every worker's together. */
  exposition(): Promise<Exposition> {
    if (this.gather) return this.gather();
    return this.registry
      .metrics()
      .then((text) => ({ contentType: this.registry.contentType, text }));
  }

  /** In a worker of `baton serve` (src/cluster.ts): /metrics asks the primary for all workers'. */
  gatherWith(fn: () => Promise<Exposition>): void {
    this.gather = fn;
  }

  /** Where the counts of token resolutions are read from (the HTTP server's identity memory). */
  countResolutions(counts: Readonly<Record<'database' | 'memory' | 'outage', number>>): void {
    this.resolutions = counts;
  }

  observeTool(tool: string, seconds: number, errorCode?: string): void {
    const outcome = errorCode ? 'error' : 'ok';
    this.toolCalls.inc(`${tool} ${outcome}`, () => ({ tool, outcome }));
    if (errorCode) this.toolErrors.inc(`${tool} ${errorCode}`, () => ({ tool, code: errorCode }));
    this.toolSeconds.observe({ tool }, seconds);
  }

  /** One stream message; lag only for live ones (a replay is late by design). */
  observePush(kind: string, lagSeconds: number | null): void {
    this.streamMessages.inc({ kind });
    if (lagSeconds !== null) this.pushLag.observe(Math.max(0, lagSeconds));
  }

  observeRequest(route: string, status: number): void {
    this.requests.inc(`${route} ${status}`, () => ({ route, status: String(status) }));
  }
}

/**
 * A counter for every request's path: counted as plain numbers (one map lookup, no label
 * hashing) and handed to prom-client only when scraped.
 */
class HotCounter<L extends string> {
  private readonly counts = new Map<string, { labels: Record<L, string>; n: number }>();

  constructor(
    registry: client.Registry,
    def: { name: string; help: string; labelNames: readonly L[] },
  ) {
    const counts = this.counts;
    new client.Counter<L>({
      ...def,
      registers: [registry],
      collect() {
        this.reset();
        for (const c of counts.values()) this.inc(c.labels, c.n);
      },
    });
  }

  /** One more for the labels `key` stands for (made by `labels` the first time only). */
  inc(key: string, labels: () => Record<L, string>): void {
    const c = this.counts.get(key);
    if (c) c.n++;
    else this.counts.set(key, { labels: labels(), n: 1 });
  }
}
