import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { useTestBaton } from './helpers/baton.js';

// The edges never throw on bad syntax: a path with a malformed %-escape names nothing, so it
// is not_found, before authentication and without an error in the log.

let logged = '';
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    logged += chunk.toString();
    done();
  },
});
const baton = useTestBaton({ env: { LOG_LEVEL: 'debug' }, logSink: sink });

describe('malformed paths', () => {
  it.each([
    ['POST', '/api/v1/tools/%zz'],
    ['POST', '/api/v1/tools/who%E0%A4ami'],
    ['GET', '/api/v1/events%'],
    ['POST', '/mcp%zz'],
    ['GET', '/admin/projects/%zz'],
    ['GET', '/%ff'],
  ])('%s %s is a JSON 404 not_found, with no stack trace logged', async (method, path) => {
    logged = '';
    const res = await fetch(`${baton.baseUrl}${path}`, { method });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('not_found');
    expect(body.error.message).toMatch(/malformed %-escape/);
    await baton.settle();
    expect(logged).not.toMatch(/URIError|"level":50|\n\s+at /);
  });
});
