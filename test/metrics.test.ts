import { describe, expect, it } from 'vitest';
import { call, startTestBaton, useTestBaton } from './helpers/baton.js';

const baton = useTestBaton();

function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (want.every((w) => line.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('/metrics', () => {
  it('counts tool calls, their latency and their errors by code, in Prometheus text', async () => {
    const { token } = await baton.seed({ label: 'measured' });
    const client = await baton.connect(token);
    for (let i = 0; i < 3; i++) await call(client, 'whoami');
    await call(client, 'whoami', { bogus: 1 }); // invalid_argument
    await call(client, 'task_get', { task_id: 987654 }); // not_found
    const res = await fetch(`${baton.baseUrl}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/plain/);
    const text = await res.text();
    expect(sample(text, 'baton_tool_calls_total', { tool: 'whoami', outcome: 'ok' })).toBe(3);
    expect(sample(text, 'baton_tool_calls_total', { tool: 'whoami', outcome: 'error' })).toBe(1);
    expect(
      sample(text, 'baton_tool_errors_total', { tool: 'whoami', code: 'invalid_argument' }),
    ).toBe(1);
    expect(sample(text, 'baton_tool_errors_total', { tool: 'task_get', code: 'not_found' })).toBe(
      1,
    );
    expect(sample(text, 'baton_tool_duration_seconds_count', { tool: 'whoami' })).toBe(4);
    expect(sample(text, 'baton_tool_duration_seconds_bucket', { tool: 'whoami', le: '+Inf' })).toBe(
      4,
    );
    expect(
      sample(text, 'baton_http_requests_total', { route: 'mcp', status: '200' }),
    ).toBeGreaterThanOrEqual(6);
    expect(sample(text, 'baton_db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'baton_mcp_sessions_open', {})).toBeGreaterThanOrEqual(1);
    expect(sample(text, 'baton_mcp_sessions_initialized_total', {})).toBeGreaterThanOrEqual(1);
    // No label names a project or a participant.
    expect(text).not.toMatch(/alpha|measured|owner\//);
  });

  it('requires BATON_METRICS_TOKEN when it is set', async () => {
    const guarded = await startTestBaton({ env: { BATON_METRICS_TOKEN: 'scrape-secret-123' } });
    try {
      expect((await fetch(`${guarded.baseUrl}/metrics`)).status).toBe(401);
      const wrong = await fetch(`${guarded.baseUrl}/metrics`, {
        headers: { authorization: 'Bearer nope' },
      });
      expect(wrong.status).toBe(401);
      const right = await fetch(`${guarded.baseUrl}/metrics`, {
        headers: { authorization: 'Bearer scrape-secret-123' },
      });
      expect(right.status).toBe(200);
    } finally {
      await guarded.close();
    }
  });
});
