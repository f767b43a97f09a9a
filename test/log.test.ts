import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { mintToken } from '../src/auth/tokens.js';
import { createLogger } from '../src/log.js';

describe('logs', () => {
  it('never carry a token, whether in a header, a field or an error message', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out += chunk.toString();
        done();
      },
    });
    const log = createLogger('info', sink);
    const { token } = mintToken();
    log.info({ reqId: 'r1', req: { headers: { authorization: `Bearer ${token}` } } }, 'request');
    log.info({ reqId: 'r2', token }, 'minted');
    log.error({ reqId: 'r3', err: new Error(`bad token ${token}`) }, 'failed');
    expect(out).not.toContain(token.slice(6));
    expect(out).toContain('"reqId":"r1"');
    expect(out).toContain('[redacted]');
  });
});
