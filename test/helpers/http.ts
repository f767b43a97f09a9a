import http from 'node:http';

// One request on a connection of its own (no keep-alive): behind `baton serve` with
// BATON_WORKERS, each new connection goes to the next worker, so a test can reach them all.

export interface Answer {
  status: number;
  body: Record<string, any>;
}

export function freshRequest(
  port: number,
  path: string,
  opts: { method?: string; token?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<Answer> {
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: opts.method ?? (body === undefined ? 'GET' : 'POST'),
        agent: false,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(body === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => {
          let parsed: Record<string, any> = {};
          try {
            parsed = JSON.parse(text) as Record<string, any>;
          } catch {
            parsed = { text };
          }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    // A request must not hang a test: one cut off (a worker killed under it) fails instead.
    req.setTimeout(opts.timeoutMs ?? 20_000, () => req.destroy(new Error(`no answer on ${path}`)));
    req.end(body);
  });
}

/** A tool call over POST /api/v1/tools/<name> on a fresh connection. */
export function freshCall(
  port: number,
  token: string,
  tool: string,
  args: object = {},
  timeoutMs?: number,
) {
  return freshRequest(port, `/api/v1/tools/${tool}`, { token, body: args, timeoutMs });
}

/**
 * One reading of a Prometheus exposition: a sample by metric name and exact labels, undefined
 * when absent.
 */
export async function readMetrics(
  port: number,
): Promise<(name: string, labels?: string) => number | undefined> {
  const lines = ((await freshRequest(port, '/metrics')).body.text as string).split('\n');
  return (name, labels = '') => {
    const line = lines.find((l) => l.startsWith(`${name}${labels} `));
    return line === undefined ? undefined : Number(line.split(' ')[1]);
  };
}

/** A sample of a Prometheus exposition (0 when absent), by metric name and exact labels. */
export async function metricValue(port: number, name: string, labels = ''): Promise<number> {
  return (await readMetrics(port))(name, labels) ?? 0;
}
